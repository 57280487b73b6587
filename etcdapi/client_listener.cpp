#include "etcdapi/client_listener.hpp"

#include "tls/listener.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <fcntl.h>
#include <future>
#include <stdexcept>
#include <string_view>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

namespace revkv::etcdapi {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

constexpr std::string_view kHttp2Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

// How long to wait before peeking again at a connection that sent part of the preface:
// waiting for readability again would return at once, the bytes being still unread.
constexpr std::chrono::milliseconds kPartialRetry{5};

// How long accepting pauses after it failed (EMFILE, ENOBUFS, ...).
constexpr std::chrono::milliseconds kAcceptPause{100};

enum class Verdict { http2, http1, nothing_yet, partial, closed };

// What the bytes peeked so far say. A prefix of the preface waits for more.
Verdict judge(int fd) {
  char peeked[kHttp2Preface.size()];
  const ssize_t n = ::recv(fd, peeked, sizeof peeked, MSG_PEEK | MSG_DONTWAIT);
  if (n == 0) return Verdict::closed;
  if (n < 0)
    return (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) ? Verdict::nothing_yet
                                                                       : Verdict::closed;
  const std::string_view got(peeked, static_cast<size_t>(n));
  if (kHttp2Preface.substr(0, got.size()) != got) return Verdict::http1;
  return got.size() == kHttp2Preface.size() ? Verdict::http2 : Verdict::partial;
}

}  // namespace

// One connection being sniffed: a readiness wait and a deadline, both on the socket's own
// strand (it was accepted onto one), which the gateway's session then keeps using.
class ClientListener::Sniff : public std::enable_shared_from_this<Sniff> {
 public:
  Sniff(ClientListener& owner, tcp::socket socket)
      : owner_(owner),
        socket_(std::move(socket)),
        deadline_(socket_.get_executor()),
        retry_(socket_.get_executor()) {}

  void start(std::chrono::milliseconds limit) {
    asio::post(socket_.get_executor(), [self = shared_from_this(), limit] {
      self->deadline_.expires_after(limit);
      self->deadline_.async_wait([self](boost::system::error_code ec) {
        if (!ec) self->close();
      });
      self->wait();
    });
  }

  void close() {
    asio::post(socket_.get_executor(), [self = shared_from_this()] { self->finish_closed(); });
  }

 private:
  void wait() {
    socket_.async_wait(tcp::socket::wait_read,
                       [self = shared_from_this()](boost::system::error_code ec) {
                         if (ec || self->done_) return self->finish_closed();
                         self->peek();
                       });
  }

  void peek() {
    switch (judge(socket_.native_handle())) {
      case Verdict::nothing_yet:
        return wait();
      case Verdict::partial:
        retry_.expires_after(kPartialRetry);
        return retry_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
          if (ec || self->done_) return self->finish_closed();
          self->peek();
        });
      case Verdict::closed:
        return finish_closed();
      case Verdict::http2:
        return finish(true);
      case Verdict::http1:
        return finish(false);
    }
  }

  void finish(bool http2) {
    done_ = true;
    deadline_.cancel();
    retry_.cancel();
    if (!owner_.hand_off(this, http2, socket_)) finish_closed();
  }

  void finish_closed() {
    if (!done_) owner_.forget(this);
    done_ = true;
    deadline_.cancel();
    retry_.cancel();
    boost::system::error_code ignored;
    socket_.close(ignored);
  }

  ClientListener& owner_;
  tcp::socket socket_;
  asio::steady_timer deadline_;
  asio::steady_timer retry_;
  bool done_ = false;
};

ClientListener::ClientListener(asio::io_context& io, const std::string& host, uint16_t port,
                               Limits limits, GrpcHandoff grpc, HttpHandoff http,
                               std::shared_ptr<tls::ServerCredentials> tls,
                               auth::CertificateNames* names)
    : io_(io),
      limits_(limits),
      grpc_(std::move(grpc)),
      http_(std::move(http)),
      acceptor_(asio::make_strand(io)),
      accept_pause_(acceptor_.get_executor()) {
  port_ = tls::listen_on(acceptor_, host, port);
  if (tls) {
    terminator_ =
        std::make_unique<tls::Terminator>(std::move(tls), "client port", tls::Terminator::Limits{},
                                          [this, names](int fd, const tls::Terminator::Peer& peer) {
                                            // Before anyone sees the descriptor: a call on it may
                                            // look its CN up at once.
                                            if (names) names->record(fd, peer.verified_cn);
                                            sniff_plaintext(fd);
                                          });
  }
  accept();
}

ClientListener::~ClientListener() {
  stop();
}

void ClientListener::accept() {
  acceptor_.async_accept(asio::make_strand(io_),
                         [this](boost::system::error_code ec, tcp::socket socket) {
                           if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
                           if (!ec) {
                             if (descriptors_.refuses(socket)) return accept();
                             if (terminator_)
                               terminator_->adopt(std::move(socket));
                             else
                               sniff(std::move(socket));
                             return accept();
                           }
                           // Out of descriptors or memory: accepting again at once would
                           // spin; the pending connections wait in the backlog meanwhile.
                           accept_pause_.expires_after(kAcceptPause);
                           accept_pause_.async_wait([this](boost::system::error_code wait_ec) {
                             if (!wait_ec && acceptor_.is_open()) accept();
                           });
                         });
}

void ClientListener::sniff(tcp::socket socket) {
  std::unique_lock lock(mutex_);
  if (stopped_) {
    lock.unlock();
    boost::system::error_code ignored;
    socket.close(ignored);
    return;
  }
  auto s = std::make_shared<Sniff>(*this, std::move(socket));
  // Full: the connection silent the longest gives way (util/oldest_first.hpp).
  auto displaced = sniffing_.add(s, limits_.max_sniffing);
  lock.unlock();
  if (displaced) displaced->close();
  s->start(limits_.sniff_deadline);
}

void ClientListener::sniff_plaintext(int fd) {
  // An AF_UNIX socket in a tcp::socket: the gateway and the sniffing only read and write
  // it (TCP options fail harmlessly). Sniffing rather than trusting ALPN keeps clients
  // that offer none (Python's ssl by default) working.
  tcp::socket socket(asio::make_strand(io_));
  boost::system::error_code ec;
  socket.assign(tcp::v4(), fd, ec);
  if (ec) {
    ::close(fd);
    return;
  }
  sniff(std::move(socket));
}

bool ClientListener::hand_off(Sniff* sniff, bool http2, tcp::socket& socket) {
  std::lock_guard lock(mutex_);
  sniffing_.erase(sniff);
  if (stopped_) return false;
  // Small answers leave at once, as on gRPC's own listener and Go's: without this, Nagle's
  // algorithm holds a small write back until the previous one is acknowledged.
  boost::system::error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);
  if (!http2) {
    http_(std::move(socket));
    return true;
  }
  // gRPC owns the descriptor from here; its event engine wants it non-blocking.
  const int fd = socket.release();
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  grpc_(fd);
  return true;
}

void ClientListener::forget(Sniff* sniff) {
  std::lock_guard lock(mutex_);
  sniffing_.erase(sniff);
}

void ClientListener::stop() {
  std::vector<std::shared_ptr<Sniff>> open;
  {
    std::lock_guard lock(mutex_);
    if (stopped_) return;
    stopped_ = true;
    open = sniffing_.take_all();
  }
  // Outside the lock: a handshake ending hands off under the terminator's lock, then takes
  // this one (sniff); a plaintext end handed over meanwhile is closed there.
  if (terminator_) terminator_->stop();
  // The acceptor's handlers run on its strand: close it there, and wait for that so that no
  // accept completes after this returns.
  auto closed = std::make_shared<std::promise<void>>();
  auto done = closed->get_future();
  asio::post(acceptor_.get_executor(), [this, closed] {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    accept_pause_.cancel();
    closed->set_value();
  });
  done.wait_for(std::chrono::seconds(5));
  for (auto& s : open)
    s->close();
}

}  // namespace revkv::etcdapi
