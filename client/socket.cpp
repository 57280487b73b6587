#include "client/socket.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fcntl.h>
#include <memory>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace revkv::client {

std::string Endpoint::to_string() const {
  bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

Result<Endpoint> parse_endpoint(std::string_view text) {
  auto bad = [&] {
    return protocol::WireError{
        protocol::kCodeInvalidArgument,
        "revkv: bad endpoint \"" + std::string(text) + "\" (want HOST:PORT)"};
  };
  std::string_view s = text;
  Endpoint out;
  for (std::string_view scheme : {"http://", "https://"}) {
    if (!s.starts_with(scheme)) continue;
    s.remove_prefix(scheme.size());
    out.https = scheme == "https://";
  }
  if (!s.empty() && s.back() == '/') s.remove_suffix(1);
  std::string_view port;
  if (s.starts_with('[')) {
    auto close = s.find("]:");
    if (close == std::string_view::npos) return bad();
    out.host = std::string(s.substr(1, close - 1));
    port = s.substr(close + 2);
  } else {
    auto colon = s.rfind(':');
    if (colon == std::string_view::npos) return bad();
    out.host = std::string(s.substr(0, colon));
    port = s.substr(colon + 1);
  }
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (out.host.empty() || port.empty() || ec != std::errc{} || end != port.data() + port.size() ||
      value > 65535)
    return bad();
  out.port = static_cast<uint16_t>(value);
  return out;
}

int poll_timeout(std::chrono::steady_clock::time_point deadline, bool has_deadline) {
  if (!has_deadline) return -1;
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  return left.count() <= 0 ? 0 : static_cast<int>(std::min<int64_t>(left.count(), 1 << 30));
}

namespace {

protocol::WireError dial_error(const Endpoint& endpoint, const std::string& why) {
  // Same shape as a gRPC dial failure as etcdctl shows it (Go's lower-case errno text).
  std::string text = why;
  if (!text.empty()) text[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(text[0])));
  return {kCodeUnavailable, "dial tcp " + endpoint.to_string() + ": connect: " + text};
}

// One connect attempt with a deadline: non-blocking connect, poll for writability, then
// back to blocking mode (the client's reads and writes use poll for their own deadlines).
Result<UniqueFd> connect_one(const addrinfo& ai, const Endpoint& endpoint,
                             std::chrono::steady_clock::time_point deadline) {
  UniqueFd fd(::socket(ai.ai_family, ai.ai_socktype | SOCK_CLOEXEC, ai.ai_protocol));
  if (!fd.valid()) return dial_error(endpoint, std::strerror(errno));
  int flags = ::fcntl(fd.get(), F_GETFL, 0);
  ::fcntl(fd.get(), F_SETFL, flags | O_NONBLOCK);
  if (::connect(fd.get(), ai.ai_addr, ai.ai_addrlen) != 0) {
    if (errno != EINPROGRESS) return dial_error(endpoint, std::strerror(errno));
    pollfd p{fd.get(), POLLOUT, 0};
    int n = 0;
    do {
      n = ::poll(&p, 1, poll_timeout(deadline, true));
    } while (n < 0 && errno == EINTR);
    if (n == 0) return protocol::WireError{kCodeDeadlineExceeded, "context deadline exceeded"};
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
    if (n < 0 || err != 0) return dial_error(endpoint, std::strerror(n < 0 ? errno : err));
  }
  ::fcntl(fd.get(), F_SETFL, flags);
  int one = 1;
  ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

}  // namespace

Result<UniqueFd> connect_tcp(const Endpoint& endpoint, std::chrono::milliseconds timeout) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  std::string port = std::to_string(endpoint.port);
  int rc = ::getaddrinfo(endpoint.host.c_str(), port.c_str(), &hints, &found);
  if (rc != 0) return dial_error(endpoint, ::gai_strerror(rc));
  // addrinfo lists are freed with freeaddrinfo, not delete.
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> list(found, &::freeaddrinfo);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  protocol::WireError last = dial_error(endpoint, "no address");
  for (addrinfo* ai = list.get(); ai != nullptr; ai = ai->ai_next) {
    auto fd = connect_one(*ai, endpoint, deadline);
    if (fd.ok()) return std::move(fd).value();
    last = fd.error();
  }
  return last;
}

}  // namespace revkv::client
