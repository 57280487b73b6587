#include "client/client.hpp"

#include "protocol/codec.hpp"
#include "protocol/frame.hpp"

#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <poll.h>
#include <sys/socket.h>

namespace revkv::client {

Client::Client(UniqueFd fd, ClientOptions options)
    : fd_(std::move(fd)),
      options_(options),
      decoder_(std::make_unique<ResponseDecoder>(options.limits)) {}

Result<Client> Client::connect(const Endpoint& endpoint, ClientOptions options) {
  auto fd = connect_tcp(endpoint, options.connect_timeout);
  if (!fd) return fd.error();
  if (!options.tls.enabled && !endpoint.https) return Client(std::move(fd).value(), options);
  // TLS: the tunnel's plaintext end is the client's socket (tls/client_tunnel.hpp).
  UniqueFd plain;
  std::string error;
  auto tunnel = tls::ClientTunnel::open(std::move(fd).value(), endpoint.host, options.tls,
                                        options.connect_timeout, plain, error);
  if (!tunnel) return protocol::WireError{kCodeUnavailable, "revkv: " + error};
  Client client(std::move(plain), options);
  client.tunnel_ = std::move(tunnel);
  return client;
}

Result<Client> Client::connect(std::string_view endpoint, ClientOptions options) {
  auto parsed = parse_endpoint(endpoint);
  if (!parsed) return parsed.error();
  return connect(parsed.value(), options);
}

Result<Ok> Client::fail(protocol::WireError error) {
  if (!broken_) {
    broken_ = std::move(error);
    fd_.reset();
  }
  return *broken_;
}

uint32_t Client::queue(std::string_view method, std::string_view body) {
  uint32_t msgid = next_msgid_++;
  if (next_msgid_ == 0) next_msgid_ = 1;  // 0 is the msgid of unattributable errors
  msgpack::sbuffer frame;
  protocol::write_request(frame, msgid, method, body,
                          token_ ? std::optional<std::string_view>(*token_) : std::nullopt,
                          forwarded_);
  out_.append(frame.data(), frame.size());
  return msgid;
}

// Writes out_ while reading what arrives. The node applies backpressure: it stops reading a
// connection whose answers pile up unread, so a client that only wrote would wait for a node
// that waits for it (a deadlock as soon as both sockets' buffers are full). What is read is
// decoded and kept as read_some() keeps it (responses for wait()/next_response(),
// notifications to the handler). With a request timeout, flush fails after that long
// without progress.
Result<Ok> Client::flush() {
  if (broken_) return *broken_;
  const bool has_deadline = options_.request_timeout.count() > 0;
  auto deadline = std::chrono::steady_clock::now() + options_.request_timeout;
  auto failed = [this](protocol::WireError error) {
    out_.clear();
    return fail(std::move(error));
  };
  std::size_t sent = 0;
  while (sent < out_.size()) {
    pollfd p{fd_.get(), POLLIN | POLLOUT, 0};
    int rc = ::poll(&p, 1, poll_timeout(deadline, has_deadline));
    if (rc < 0 && errno == EINTR) continue;
    if (rc < 0)
      return failed({kCodeUnavailable, std::string("revkv: poll: ") + std::strerror(errno)});
    if (rc == 0) return failed({kCodeDeadlineExceeded, "context deadline exceeded"});
    if (p.revents & POLLIN) {
      if (auto r = receive(); !r) return failed(r.error());
      deadline = std::chrono::steady_clock::now() + options_.request_timeout;
    }
    if (p.revents & (POLLOUT | POLLERR | POLLHUP)) {
      // MSG_NOSIGNAL: a node that went away is an error to report, not a SIGPIPE.
      // MSG_DONTWAIT: never block in send; poll says when there is room.
      ssize_t n =
          ::send(fd_.get(), out_.data() + sent, out_.size() - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) continue;
      if (n < 0) {
        return failed({kCodeUnavailable, std::string("revkv: send: ") + std::strerror(errno)});
      }
      sent += static_cast<std::size_t>(n);
      deadline = std::chrono::steady_clock::now() + options_.request_timeout;
    }
  }
  out_.clear();
  return Ok{};
}

Result<Ok> Client::read_some() {
  if (broken_) return *broken_;
  auto ready = wait_readable(options_.request_timeout);
  if (!ready) return ready.error();
  if (!ready.value()) return fail({kCodeDeadlineExceeded, "context deadline exceeded"});
  return receive();
}

Result<bool> Client::wait_readable(std::chrono::milliseconds timeout) {
  bool has_deadline = timeout.count() > 0;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  pollfd p{fd_.get(), POLLIN, 0};
  int rc = 0;
  do {
    rc = ::poll(&p, 1, poll_timeout(deadline, has_deadline));
  } while (rc < 0 && errno == EINTR);
  if (rc < 0) {
    return fail({kCodeUnavailable, std::string("revkv: poll: ") + std::strerror(errno)}).error();
  }
  return rc > 0;
}

Result<bool> Client::pump_for(std::chrono::milliseconds timeout) {
  if (broken_) return *broken_;
  if (auto f = flush(); !f) return f.error();
  auto ready = wait_readable(timeout);
  if (!ready || !ready.value()) return ready;
  if (auto r = receive(); !r) return r.error();
  return true;
}

Result<Ok> Client::receive() {
  std::array<char, 64 * 1024> buf;
  ssize_t n = 0;
  do {
    n = ::recv(fd_.get(), buf.data(), buf.size(), 0);
  } while (n < 0 && errno == EINTR);
  if (n == 0) return fail({kCodeUnavailable, "revkv: connection closed by the node"});
  if (n < 0) return fail({kCodeUnavailable, std::string("revkv: recv: ") + std::strerror(errno)});
  decoder_->feed(std::string_view(buf.data(), static_cast<std::size_t>(n)));
  return drain();
}

Result<Ok> Client::drain() {
  for (;;) {
    auto next = decoder_->next();
    if (!next) return fail(next.error());
    if (!next.value()) return Ok{};
    Incoming& in = *next.value();
    if (auto* n = std::get_if<Notification>(&in)) {
      if (handler_) handler_(*n);
      continue;
    }
    auto& r = std::get<Response>(in);
    // msgid 0 with an error: the node could not read a frame and closes the connection.
    if (r.msgid == 0 && r.error) return fail(*r.error);
    arrival_.push_back(r.msgid);
    uint32_t msgid = r.msgid;
    ready_.insert_or_assign(msgid, std::move(r));
  }
}

Result<Response> Client::next_response() {
  for (;;) {
    while (!arrival_.empty()) {
      auto it = ready_.find(arrival_.front());
      arrival_.pop_front();
      if (it == ready_.end()) continue;  // already taken by wait()
      Response r = std::move(it->second);
      ready_.erase(it);
      return r;
    }
    auto read = read_some();
    if (!read) return read.error();
  }
}

Result<Response> Client::wait(uint32_t msgid) {
  for (;;) {
    if (auto it = ready_.find(msgid); it != ready_.end()) {
      Response r = std::move(it->second);
      ready_.erase(it);
      // Taken responses at the front of the arrival order are no news for next_response():
      // dropped here, or a connection used only through wait() (a cluster member's
      // forwarder, for the life of the process) would keep one msgid per request.
      while (!arrival_.empty() && ready_.count(arrival_.front()) == 0)
        arrival_.pop_front();
      return r;
    }
    auto read = read_some();
    if (!read) return read.error();
  }
}

Result<Ok> Client::pump() {
  if (auto f = flush(); !f) return f;
  return read_some();
}

Result<Response> Client::call(std::string_view method, std::string_view body) {
  uint32_t msgid = queue(method, body);
  if (auto f = flush(); !f) return f.error();
  auto r = wait(msgid);
  if (!r) return r.error();
  if (r.value().error) return *r.value().error;
  return std::move(r).value();
}

Result<protocol::WatchResponse> decode_watch_notification(const Notification& n) {
  auto r = protocol::decode_body<protocol::WatchResponse>(n.body);
  if (!r) return protocol::WireError{kCodeInternal, "revkv: bad watch event: " + r.error().message};
  return r;
}

}  // namespace revkv::client
