#include "tests/client/fake_server.hpp"

#include <arpa/inet.h>
#include <array>
#include <cerrno>
#include <netinet/in.h>
#include <poll.h>
#include <stdexcept>
#include <sys/socket.h>
#include <unistd.h>

namespace revkv::test {

protocol::RequestFrame FakeConnection::read_request() {
  for (;;) {
    if (auto frame = decoder_.next()) {
      if (auto* r = std::get_if<protocol::RequestFrame>(&*frame)) return std::move(*r);
      throw std::runtime_error("fake server: client sent a bad frame");
    }
    std::array<char, 4096> buf;
    ssize_t n = ::recv(fd_.get(), buf.data(), buf.size(), 0);
    if (n <= 0) throw std::runtime_error("fake server: connection closed");
    decoder_.feed(std::string_view(buf.data(), static_cast<std::size_t>(n)));
  }
}

void FakeConnection::send(std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::send(fd_.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n <= 0) throw std::runtime_error("fake server: send failed");
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
}

void FakeConnection::send_within(const msgpack::sbuffer& frame,
                                 std::chrono::milliseconds patience) {
  std::string_view bytes(frame.data(), frame.size());
  while (!bytes.empty()) {
    pollfd p{fd_.get(), POLLOUT, 0};
    int rc = ::poll(&p, 1, static_cast<int>(patience.count()));
    if (rc < 0 && errno == EINTR) continue;
    if (rc <= 0) throw std::runtime_error("fake server: the client takes nothing");
    ssize_t n = ::send(fd_.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) continue;
    if (n <= 0) throw std::runtime_error("fake server: send failed");
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
}

void FakeConnection::send_bytewise(const msgpack::sbuffer& frame) {
  for (std::size_t i = 0; i < frame.size(); ++i)
    send(std::string_view(frame.data() + i, 1));
}

FakeServer::FakeServer(Script script) {
  listener_.reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (::bind(listener_.get(), reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
      ::listen(listener_.get(), 4) != 0 ||
      ::getsockname(listener_.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0)
    throw std::runtime_error("fake server: cannot listen");
  port_ = ntohs(addr.sin_port);
  thread_ = std::thread([this, script = std::move(script)] {
    client::UniqueFd fd(::accept(listener_.get(), nullptr, nullptr));
    if (!fd.valid()) return;
    FakeConnection conn(std::move(fd));
    try {
      script(conn);
    } catch (const std::exception&) {
      // The client went away early; the test's own checks report what matters.
    }
  });
}

FakeServer::~FakeServer() {
  // Unblocks accept() if no client ever connected.
  ::shutdown(listener_.get(), SHUT_RDWR);
  thread_.join();
}

msgpack::sbuffer result_frame(uint32_t msgid, std::string_view result) {
  msgpack::sbuffer out;
  protocol::write_result(out, msgid, result);
  return out;
}

msgpack::sbuffer error_frame(uint32_t msgid, int64_t code, const std::string& message) {
  msgpack::sbuffer out;
  protocol::write_error(out, msgid, protocol::WireError{code, message});
  return out;
}

msgpack::sbuffer notification_frame(std::string_view method, std::string_view body) {
  msgpack::sbuffer out;
  protocol::write_notification(out, method, body);
  return out;
}

}  // namespace revkv::test
