#include "tls/terminator.hpp"

#include <spdlog/spdlog.h>

#include <array>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <cstring>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

namespace revkv::tls {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

// A TLS record holds at most 16 KiB of plaintext: a buffer of that size per direction
// moves a record per turn, and costs 32 KiB per connection.
constexpr size_t kRelayBuffer = 16 * 1024;
// The first byte of every TLS connection: a handshake record.
constexpr unsigned char kHandshakeRecord = 0x16;

std::string peer_of(const tcp::socket& socket) {
  boost::system::error_code ec;
  const auto ep = socket.remote_endpoint(ec);
  if (ec) return "?";
  return ep.address().to_string() + ":" + std::to_string(ep.port());
}

// The certificate's subject CN as Go reads it (the last CN attribute wins); "" without one.
std::string common_name(X509* cert) {
  const X509_NAME* subject = X509_get_subject_name(cert);
  int last = -1;
  for (int at = -1; (at = X509_NAME_get_index_by_NID(subject, NID_commonName, at)) >= 0;)
    last = at;
  if (last < 0) return "";
  unsigned char* utf8 = nullptr;
  const int n =
      ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, last)));
  if (n < 0) return "";
  std::string cn(reinterpret_cast<const char*>(utf8), static_cast<size_t>(n));
  OPENSSL_free(utf8);
  return cn;
}

}  // namespace

class Terminator::Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(Terminator& owner, std::shared_ptr<asio::ssl::context> context, tcp::socket socket)
      : owner_(owner),
        context_(std::move(context)),
        peer_(peer_of(socket)),
        stream_(std::move(socket), *context_),
        deadline_(stream_.get_executor()),
        plain_(stream_.get_executor()) {}

  void start(std::chrono::milliseconds limit) {
    asio::post(stream_.get_executor(), [self = shared_from_this(), limit] {
      self->deadline_.expires_after(limit);
      self->deadline_.async_wait([self, limit](boost::system::error_code ec) {
        if (ec || self->state_ != State::handshake) return;
        self->refuse("no TLS handshake within " + std::to_string(limit.count()) + " ms");
      });
      self->wait_hello();
    });
  }

  // From Terminator::stop, on any thread.
  void close() {
    asio::post(stream_.get_executor(), [self = shared_from_this()] {
      if (self->state_ == State::handshake) self->end(false);
    });
  }

 private:
  enum class State { handshake, relaying, closed };

  // Peeks at the first byte without reading it: a client speaking plaintext to a TLS port
  // (a common mistake) gets a log line that says so, instead of OpenSSL's "wrong version
  // number".
  void wait_hello() {
    tcp::socket& socket = stream_.next_layer();
    socket.async_wait(tcp::socket::wait_read,
                      [self = shared_from_this()](boost::system::error_code ec) {
                        if (self->state_ != State::handshake) return;
                        if (ec) return self->end(true);
                        unsigned char first = 0;
                        const ssize_t n = ::recv(self->stream_.next_layer().native_handle(), &first,
                                                 1, MSG_PEEK | MSG_DONTWAIT);
                        if (n < 0 && (errno == EAGAIN || errno == EINTR)) return self->wait_hello();
                        if (n <= 0) {
                          // A port probe: connected and closed without a byte.
                          spdlog::debug("tls: {} connection from {} closed before any byte",
                                        self->owner_.door_, self->peer_);
                          return self->end(true);
                        }
                        if (first != kHandshakeRecord)
                          return self->refuse("not TLS (plaintext to a TLS port?)");
                        self->handshake();
                      });
  }

  void handshake() {
    SSL_set_ex_data(stream_.native_handle(), verify_failure_index(), &verify_failure_);
    stream_.async_handshake(asio::ssl::stream_base::server,
                            [self = shared_from_this()](boost::system::error_code ec) {
                              if (self->state_ != State::handshake) return;
                              if (ec) return self->refuse(self->handshake_failure(ec));
                              self->hand_off();
                            });
  }

  std::string handshake_failure(const boost::system::error_code& ec) {
    // A client certificate that failed verification says why (expired, unknown CA, ...).
    if (!verify_failure_.empty()) return verify_failure_;
    if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated)
      return "connection closed during the TLS handshake";
    if (ec == asio::error::operation_aborted) return "closed during the TLS handshake";
    return "TLS handshake failed: " + ec.message();
  }

  void hand_off() {
    deadline_.cancel();
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
      return refuse(std::string("socketpair: ") + std::strerror(errno));
    }
    boost::system::error_code ec;
    plain_.assign(asio::local::stream_protocol(), fds[0], ec);
    if (ec) {
      ::close(fds[0]);
      ::close(fds[1]);
      return refuse("socketpair: " + ec.message());
    }
    // Small answers leave at once (the doors set this on their own TCP sockets).
    stream_.next_layer().set_option(tcp::no_delay(true), ec);
    const unsigned char* alpn_data = nullptr;
    unsigned int alpn_size = 0;
    SSL_get0_alpn_selected(stream_.native_handle(), &alpn_data, &alpn_size);
    Peer peer{std::string(reinterpret_cast<const char*>(alpn_data), alpn_size), std::nullopt,
              nullptr};
    // A certificate counts only when it was asked for and verified (--client-cert-auth);
    // without it the node asks for none, so none is here.
    if (X509* cert = SSL_get0_peer_certificate(stream_.native_handle());
        cert && SSL_get_verify_result(stream_.native_handle()) == X509_V_OK) {
      peer.verified_cn = common_name(cert);
      X509_up_ref(cert);
      peer.certificate.reset(cert, X509_free);
    }
    if (spdlog::should_log(spdlog::level::debug)) {
      spdlog::debug("tls: {} connection from {}: {} alpn={}{}", owner_.door_, peer_,
                    SSL_get_version(stream_.native_handle()), peer.alpn.empty() ? "-" : peer.alpn,
                    client_subject());
    }
    state_ = State::relaying;
    if (!owner_.finish_handshake(this, fds[1], peer)) {
      ::close(fds[1]);
      return end(false);
    }
    pump_in();
    pump_out();
  }

  std::string client_subject() {
    X509* cert = SSL_get0_peer_certificate(stream_.native_handle());
    if (!cert) return "";
    char subject[256] = {};
    X509_NAME_oneline(X509_get_subject_name(cert), subject, sizeof subject - 1);
    return std::string(" client=") + subject;
  }

  // Client to door. The client's close (or close_notify) half-closes the plaintext end:
  // the door sees the end of its input and still sends what it has to.
  void pump_in() {
    stream_.async_read_some(
        asio::buffer(in_), [self = shared_from_this()](boost::system::error_code ec, size_t n) {
          if (self->state_ != State::relaying) return;
          if (ec) {
            boost::system::error_code ignored;
            self->plain_.shutdown(asio::local::stream_protocol::socket::shutdown_send, ignored);
            return;
          }
          asio::async_write(self->plain_, asio::buffer(self->in_.data(), n),
                            [self](boost::system::error_code write_ec, size_t) {
                              if (self->state_ != State::relaying) return;
                              if (write_ec) return self->end(false);
                              self->pump_in();
                            });
        });
  }

  // Door to client. The door closing ends the connection, after what it wrote is sent.
  void pump_out() {
    plain_.async_read_some(asio::buffer(out_),
                           [self = shared_from_this()](boost::system::error_code ec, size_t n) {
                             if (self->state_ != State::relaying) return;
                             if (ec) return self->end(false);
                             asio::async_write(self->stream_, asio::buffer(self->out_.data(), n),
                                               [self](boost::system::error_code write_ec, size_t) {
                                                 if (self->state_ != State::relaying) return;
                                                 if (write_ec) return self->end(false);
                                                 self->pump_out();
                                               });
                           });
  }

  void refuse(const std::string& reason) {
    if (state_ != State::handshake) return;
    spdlog::warn("tls: {} connection from {} refused: {}", owner_.door_, peer_, reason);
    end(true);
  }

  void end(bool during_handshake) {
    if (state_ == State::closed) return;
    if (during_handshake || state_ == State::handshake) owner_.forget(this);
    state_ = State::closed;
    deadline_.cancel();
    boost::system::error_code ignored;
    stream_.next_layer().close(ignored);
    plain_.close(ignored);
  }

  Terminator& owner_;
  // Kept for the connection's life: a reload replaces the terminator's, not this one.
  std::shared_ptr<asio::ssl::context> context_;
  std::string peer_;
  asio::ssl::stream<tcp::socket> stream_;
  asio::steady_timer deadline_;
  asio::local::stream_protocol::socket plain_;
  State state_ = State::handshake;
  std::string verify_failure_;  // filled by OpenSSL's verify callback
  std::array<char, kRelayBuffer> in_{};
  std::array<char, kRelayBuffer> out_{};
};

Terminator::Terminator(std::shared_ptr<ServerCredentials> credentials, std::string door,
                       Limits limits, Handoff handoff)
    : Terminator(std::move(credentials), std::move(door), limits,
                 PeerHandoff([handoff = std::move(handoff)](int fd, const Peer& peer) {
                   handoff(fd, peer.alpn);
                 })) {}

Terminator::Terminator(std::shared_ptr<ServerCredentials> credentials, std::string door,
                       Limits limits, PeerHandoff handoff)
    : credentials_(std::move(credentials)),
      door_(std::move(door)),
      limits_(limits),
      handoff_(std::move(handoff)) {}

Terminator::~Terminator() {
  stop();
}

void Terminator::adopt(tcp::socket socket) {
  std::unique_lock lock(mutex_);
  if (stopped_) return;  // the socket closes as it goes out of scope
  const bool full = handshaking_.size() >= limits_.max_handshaking;
  const std::string peer = full ? peer_of(socket) : std::string();
  auto c = std::make_shared<Connection>(*this, credentials_->current(), std::move(socket));
  // Full: the handshake begun the longest ago gives way (util/oldest_first.hpp).
  auto displaced = handshaking_.add(c, limits_.max_handshaking);
  lock.unlock();
  if (displaced) {
    displaced->close();
    refuse_over_limit(peer);
  }
  c->start(limits_.handshake_deadline);
}

void Terminator::refuse_over_limit(const std::string& peer) {
  uint64_t unlogged = 0;
  {
    std::lock_guard lock(mutex_);
    const auto now = std::chrono::steady_clock::now();
    if (now - last_over_limit_log_ < std::chrono::seconds(1)) {
      ++over_limit_unlogged_;
      return;
    }
    last_over_limit_log_ = now;
    unlogged = over_limit_unlogged_;
    over_limit_unlogged_ = 0;
  }
  spdlog::warn(
      "tls: {}: {} TLS handshakes in progress; the oldest was closed to admit a connection "
      "from {}{}",
      door_, limits_.max_handshaking, peer,
      unlogged ? " (" + std::to_string(unlogged) + " more closed since the last line)"
               : std::string());
}

bool Terminator::finish_handshake(Connection* connection, int fd, const Peer& peer) {
  std::lock_guard lock(mutex_);
  handshaking_.erase(connection);
  if (stopped_) return false;
  handoff_(fd, peer);
  return true;
}

void Terminator::forget(Connection* connection) {
  std::lock_guard lock(mutex_);
  handshaking_.erase(connection);
}

void Terminator::stop() {
  std::vector<std::shared_ptr<Connection>> open;
  {
    std::lock_guard lock(mutex_);
    if (stopped_) return;
    stopped_ = true;
    open = handshaking_.take_all();
  }
  for (auto& c : open)
    c->close();
}

size_t Terminator::handshaking() const {
  std::lock_guard lock(mutex_);
  return handshaking_.size();
}

}  // namespace revkv::tls
