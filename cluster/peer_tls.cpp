#include "cluster/peer_tls.hpp"

#include "cluster/loop_thread.hpp"
#include "tls/listener.hpp"
#include "util/unique_fd.hpp"

#include <spdlog/spdlog.h>

#include <arpa/inet.h>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fcntl.h>
#include <list>
#include <mutex>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/x509v3.h>
#include <optional>
#include <poll.h>
#include <stdexcept>
#include <string>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <unordered_map>
#include <vector>

namespace revkv::cluster {

namespace {

using Clock = std::chrono::steady_clock;

// The preamble a dialing member sends before Raft's own bytes: a protocol mark, its Raft
// id, the length of its address, then the address. Little-endian u64s.
constexpr uint64_t kPreambleProtocol = 0x3173'6c74'7665'72ULL;  // "revtls1", versioned
constexpr size_t kPreambleHeader = 3 * sizeof(uint64_t);
// Addresses are HOST:PORT; anything longer is not a member's.
constexpr uint64_t kMaxAddress = 256;
// The peer port's handshake limits, tighter than the client doors': members are few, on a
// near network, and reconnect at once; a slow or idle handshake is someone else's. Anyone
// who reaches the port can still hold these slots (docs/SECURITY.md "Peer TLS").
constexpr tls::Terminator::Limits kPeerLimits{std::chrono::milliseconds(3000), 64};
// How often finished outgoing tunnels are reaped (their plaintext end closed, so that
// libraft's next write fails and it reconnects) and dialing threads joined.
constexpr uint64_t kReapIntervalMs = 50;
// A refused outgoing connection is logged at once, then while it keeps failing the same
// way at most this often (libraft retries every few hundred milliseconds).
constexpr auto kRepeatLogInterval = std::chrono::seconds(10);

void put_u64(char* out, uint64_t v) {
  for (int i = 0; i < 8; ++i)
    out[i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

uint64_t get_u64(const unsigned char* in) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i)
    v = (v << 8) | in[i];
  return v;
}

bool split_address(const std::string& address, std::string& host, std::string& port) {
  const auto colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == address.size()) return false;
  host = address.substr(0, colon);
  port = address.substr(colon + 1);
  // Digits only, 1..65535: std::stoul would take "+1", " 1", "1x" and wrap 70000.
  if (port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos) return false;
  const unsigned long number = std::stoul(port);
  return number >= 1 && number <= 65535;
}

// An IPv4 or IPv6 literal, as opposed to a name to resolve.
bool is_ip_literal(const std::string& host) {
  in6_addr buf{};
  return ::inet_pton(AF_INET, host.c_str(), &buf) == 1 ||
         ::inet_pton(AF_INET6, host.c_str(), &buf) == 1;
}

// State the dialing threads share with the transport: they outlive neither the transport
// (joined in its destructor) nor the loop, but may finish after libraft closed it.
struct Shared {
  std::mutex mutex;
  bool closing = false;                   // guarded by mutex
  std::unordered_map<uint64_t, int> tls;  // dial number -> a dup of its socket, handshaking
  util::UniqueFd wake;                    // an eventfd, readable once closing
};

// A TCP connection to host:port within `timeout`, given up early when `shared` closes.
util::UniqueFd dial_tcp(const std::string& host, const std::string& port,
                        std::chrono::milliseconds timeout, Shared& shared, std::string& error) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  // The port is numeric (checked by the caller); a literal host needs no resolver either.
  hints.ai_flags = AI_NUMERICSERV | (is_ip_literal(host) ? AI_NUMERICHOST : 0);
  addrinfo* found = nullptr;
  if (const int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &found); rc != 0) {
    error = std::string("cannot resolve: ") + ::gai_strerror(rc);
    return {};
  }
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> owned(found, ::freeaddrinfo);
  const auto deadline = Clock::now() + timeout;
  error = "no address";
  for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
    util::UniqueFd fd(
        ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol));
    if (!fd.valid()) {
      error = std::strerror(errno);
      continue;
    }
    if (::connect(fd.get(), a->ai_addr, a->ai_addrlen) != 0 && errno != EINPROGRESS) {
      error = std::strerror(errno);
      continue;
    }
    for (;;) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left.count() <= 0) {
        error = "connect timed out";
        break;
      }
      pollfd p[2] = {{fd.get(), POLLOUT, 0}, {shared.wake.get(), POLLIN, 0}};
      const int rc = ::poll(p, 2, static_cast<int>(left.count()));
      if (rc < 0 && errno == EINTR) continue;
      if (p[1].revents != 0) {
        error = "transport closed";
        return {};
      }
      if (rc <= 0) continue;
      int so_error = 0;
      socklen_t len = sizeof so_error;
      ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &so_error, &len);
      if (so_error != 0) {
        error = std::strerror(so_error);
        break;
      }
      ::fcntl(fd.get(), F_SETFL, ::fcntl(fd.get(), F_GETFL) & ~O_NONBLOCK);
      // Raft's messages are small and latency-bound (heartbeats, votes, appends): no Nagle.
      // Keepalive notices a member that vanished without closing the connection.
      const int on = 1;
      ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
      ::setsockopt(fd.get(), SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on);
      return fd;
    }
  }
  return {};
}

// Writes all of `data` to the blocking socket `fd`.
bool write_all(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

// An accepted connection, TLS done, whose preamble is being read.
struct Incoming {
  PeerTlsTransport::Impl* owner = nullptr;
  uv_pipe_t* pipe = nullptr;  // raft_malloc'ed: libraft frees the handle it is given
  unsigned char header[kPreambleHeader] = {};
  size_t header_read = 0;
  std::string address;
  size_t address_read = 0;
  uint64_t id = 0;
  std::shared_ptr<X509> certificate;  // the verified client certificate; null if none asked
};

// An outgoing connection libraft waits for.
struct Dial {
  raft_uv_connect* req = nullptr;
  raft_uv_connect_cb cb = nullptr;
  std::string address;
};

struct Worker {
  std::thread thread;
  std::shared_ptr<std::atomic<bool>> done = std::make_shared<std::atomic<bool>>(false);
};

}  // namespace

class PeerTlsTransport::Impl {
 public:
  Impl(raft_uv_transport* t, LoopThread& loop, PeerTls config)
      : t_(t), loop_(loop), config_(std::move(config)), shared_(std::make_shared<Shared>()) {
    shared_->wake.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  }

  ~Impl() {
    signal_closing();
    for (auto& w : workers_)
      if (w.thread.joinable()) w.thread.join();
    tunnels_.clear();  // each joins its relay thread
  }

  bool ready() const { return shared_->wake.valid(); }
  void set_members(PeerTlsTransport::MemberLookup lookup) { members_ = std::move(lookup); }

  int init(raft_id id, const char* address) {
    id_ = id;
    address_ = address;
    uv_timer_init(loop_.loop(), &reaper_);
    reaper_.data = this;
    reaper_open_ = true;
    uv_timer_start(
        &reaper_, [](uv_timer_t* h) { static_cast<PeerTlsTransport::Impl*>(h->data)->reap(); },
        kReapIntervalMs, kReapIntervalMs);
    return 0;
  }

  int listen(raft_uv_accept_cb cb) {
    accept_cb_ = cb;
    std::string host, port;
    const std::string& bind = config_.bind_address.empty() ? address_ : config_.bind_address;
    if (!split_address(bind, host, port)) {
      set_error("bad peer address " + bind);
      return RAFT_INVALID;
    }
    try {
      auto shared = shared_;
      PeerTlsTransport::Impl* self = this;
      LoopThread* loop = &loop_;
      listener_ = std::make_unique<tls::Listener>(
          host, static_cast<uint16_t>(std::stoul(port)), config_.server, "peer port", kPeerLimits,
          1,
          tls::Terminator::PeerHandoff(
              [self, loop](int fd, const tls::Terminator::Peer& handshake) {
                auto owned = std::make_shared<util::UniqueFd>(fd);
                // Refused once the loop stopped taking tasks: the descriptor closes with
                // `owned`.
                loop->post([self, owned, cert = handshake.certificate] {
                  self->adopt(owned->release(), cert);
                });
              }));
    } catch (const std::exception& e) {
      set_error(e.what());
      return RAFT_IOERR;
    }
    spdlog::info("cluster: peer port {} accepts TLS only ({})", bind,
                 config_.server->config().client_cert_auth
                     ? "members must present a certificate from --peer-trusted-ca-file"
                     : "no client certificate asked for");
    return 0;
  }

  int connect(raft_uv_connect* req, raft_id id, const char* address, raft_uv_connect_cb cb) {
    if (closing_) return RAFT_CANCELED;
    (void)id;
    const uint64_t number = ++dials_;
    // Called from libraft's C code: nothing may propagate (std::thread, allocations throw).
    try {
      dials_pending_[number] = Dial{req, cb, address};
      std::string preamble(kPreambleHeader + address_.size(), '\0');
      put_u64(preamble.data(), kPreambleProtocol);
      put_u64(preamble.data() + 8, id_);
      put_u64(preamble.data() + 16, address_.size());
      std::memcpy(preamble.data() + kPreambleHeader, address_.data(), address_.size());
      Worker w;
      w.thread = std::thread([self = this, loop = &loop_, shared = shared_, client = config_.client,
                              timeout = config_.dial_timeout, number, peer = std::string(address),
                              preamble, done = w.done] {
        dial(self, *loop, *shared, client, timeout, number, peer, preamble);
        done->store(true);
      });
      try {
        workers_.push_back(std::move(w));
      } catch (...) {
        // The thread runs: wait for it rather than let std::thread's destructor terminate.
        if (w.thread.joinable()) w.thread.join();
        throw;
      }
    } catch (const std::bad_alloc&) {
      dials_pending_.erase(number);
      return RAFT_NOMEM;
    } catch (const std::exception& e) {
      dials_pending_.erase(number);
      spdlog::warn("cluster: cannot dial peer {}: {}", address, e.what());
      return RAFT_IOERR;
    }
    return 0;
  }

  // libraft's close: no accept callback, no connect callback other than RAFT_CANCELED after
  // this; `cb` once every handle of ours is closed.
  void close(raft_uv_transport_close_cb cb) {
    close_cb_ = cb;
    shut();
    maybe_closed();
  }

  // peer_tls_transport_close: libraft never closed it (its setup failed part-way).
  void shut() {
    if (closing_) return;
    closing_ = true;
    signal_closing();
    // Joins the listener's threads: no handoff is posted after this.
    listener_.reset();
    for (auto& [pipe, incoming] : incoming_)
      close_handle(reinterpret_cast<uv_handle_t*>(pipe));
    for (auto& [number, d] : std::exchange(dials_pending_, {}))
      d.cb(d.req, nullptr, RAFT_CANCELED);
    if (reaper_open_) {
      reaper_open_ = false;
      ++closing_handles_;
      uv_close(reinterpret_cast<uv_handle_t*>(&reaper_), [](uv_handle_t* h) {
        auto* self = static_cast<PeerTlsTransport::Impl*>(h->data);
        --self->closing_handles_;
        self->maybe_closed();
      });
    }
  }

 private:
  static void dial(PeerTlsTransport::Impl* self, LoopThread& loop, Shared& shared,
                   const tls::ClientConfig& client, std::chrono::milliseconds timeout,
                   uint64_t number, const std::string& peer, const std::string& preamble) {
    std::string error;
    bool tls_failed = false;  // TCP connected, TLS did not: worth a warning
    std::string host, port;
    auto plain = std::make_shared<util::UniqueFd>();
    std::shared_ptr<tls::ClientTunnel> tunnel;
    if (!split_address(peer, host, port)) {
      error = "bad address";
    } else if (auto tcp = dial_tcp(host, port, timeout, shared, error); tcp.valid()) {
      // A duplicate of the socket lets close() cut a handshake short (shutdown wakes its
      // poll) without racing the tunnel's own close of the descriptor.
      util::UniqueFd dup(::fcntl(tcp.get(), F_DUPFD_CLOEXEC, 0));
      {
        std::lock_guard lock(shared.mutex);
        if (shared.closing) return;
        shared.tls[number] = dup.get();
      }
      tunnel = tls::ClientTunnel::open(std::move(tcp), host, client, timeout, *plain, error);
      tls_failed = !tunnel;
      {
        std::lock_guard lock(shared.mutex);
        shared.tls.erase(number);
      }
      if (tunnel && !write_all(plain->get(), preamble)) {
        tunnel.reset();
        error = "the tunnel closed at once";
      }
    }
    loop.post([self, number, plain, tunnel, error, tls_failed] {
      self->dialed(number, plain->release(), tunnel, error, tls_failed);
    });
  }

  // On the loop thread: a dialing thread's outcome.
  void dialed(uint64_t number, int fd, std::shared_ptr<tls::ClientTunnel> tunnel,
              const std::string& error, bool tls_failed) {
    util::UniqueFd plain(fd);
    auto it = dials_pending_.find(number);
    if (closing_ || it == dials_pending_.end()) return;  // canceled: tunnel and fd close
    Dial d = std::move(it->second);
    dials_pending_.erase(it);
    if (!tunnel) {
      log_refused(d.address, error, tls_failed);
      d.cb(d.req, nullptr, RAFT_NOCONNECTION);
      return;
    }
    auto* pipe = static_cast<uv_pipe_t*>(raft_malloc(sizeof(uv_pipe_t)));
    if (pipe == nullptr) {
      d.cb(d.req, nullptr, RAFT_NOMEM);
      return;
    }
    uv_pipe_init(loop_.loop(), pipe, 0);
    if (const int rc = uv_pipe_open(pipe, plain.get()); rc != 0) {
      uv_close(reinterpret_cast<uv_handle_t*>(pipe), [](uv_handle_t* h) { raft_free(h); });
      log_refused(d.address, std::string("uv_pipe_open: ") + uv_strerror(rc), false);
      d.cb(d.req, nullptr, RAFT_NOCONNECTION);
      return;
    }
    plain.release();  // the pipe owns it now
    if (auto logged = refused_.find(d.address); logged != refused_.end()) {
      spdlog::info("cluster: peer TLS connection to {} established", d.address);
      refused_.erase(logged);
    }
    tunnels_.push_back(std::move(tunnel));
    d.cb(d.req, reinterpret_cast<uv_stream_t*>(pipe), 0);
  }

  // A member that is down (refused, unreachable) is routine: info. A TLS failure means a
  // misconfigured or foreign member: warn.
  void log_refused(const std::string& address, const std::string& error, bool tls_failed) {
    const auto now = Clock::now();
    auto [it, inserted] = refused_.try_emplace(address);
    if (!inserted && it->second.first == error && now - it->second.second < kRepeatLogInterval)
      return;
    it->second = {error, now};
    spdlog::log(tls_failed ? spdlog::level::warn : spdlog::level::info,
                "cluster: peer TLS connection to {} failed: {}", address, error);
  }

  // On the loop thread: a connection the listener terminated; read its preamble.
  void adopt(int fd, std::shared_ptr<X509> certificate) {
    util::UniqueFd owned(fd);
    if (closing_) return;
    auto* pipe = static_cast<uv_pipe_t*>(raft_malloc(sizeof(uv_pipe_t)));
    if (pipe == nullptr) return;
    // A loop task: an exception would escape through libuv's C frames.
    std::unique_ptr<Incoming> incoming;
    try {
      incoming = std::make_unique<Incoming>();
    } catch (const std::exception& e) {
      raft_free(pipe);
      spdlog::warn("cluster: peer connection dropped: {}", e.what());
      return;
    }
    uv_pipe_init(loop_.loop(), pipe, 0);
    incoming->owner = this;
    incoming->pipe = pipe;
    incoming->certificate = std::move(certificate);
    pipe->data = incoming.get();
    if (uv_pipe_open(pipe, owned.get()) != 0) {
      incoming_.emplace(pipe, std::move(incoming));
      close_handle(reinterpret_cast<uv_handle_t*>(pipe));
      return;
    }
    owned.release();
    incoming_.emplace(pipe, std::move(incoming));
    uv_read_start(reinterpret_cast<uv_stream_t*>(pipe), &PeerTlsTransport::Impl::alloc_preamble,
                  &PeerTlsTransport::Impl::read_preamble);
  }

  // Exactly the bytes still missing, so that nothing of Raft's own stream is read here.
  static void alloc_preamble(uv_handle_t* handle, size_t, uv_buf_t* buf) {
    auto* in = static_cast<Incoming*>(handle->data);
    if (in->header_read < kPreambleHeader) {
      *buf = uv_buf_init(reinterpret_cast<char*>(in->header) + in->header_read,
                         static_cast<unsigned>(kPreambleHeader - in->header_read));
    } else {
      *buf = uv_buf_init(in->address.data() + in->address_read,
                         static_cast<unsigned>(in->address.size() - in->address_read));
    }
  }

  static void read_preamble(uv_stream_t* stream, ssize_t nread, const uv_buf_t*) {
    auto* in = static_cast<Incoming*>(stream->data);
    PeerTlsTransport::Impl* self = in->owner;
    if (nread == 0) return;
    if (nread < 0) {
      if (nread != UV_EOF)
        spdlog::warn("cluster: peer connection closed before its preamble: {}",
                     uv_strerror(static_cast<int>(nread)));
      return self->close_handle(reinterpret_cast<uv_handle_t*>(stream));
    }
    if (in->header_read < kPreambleHeader) {
      in->header_read += static_cast<size_t>(nread);
      if (in->header_read < kPreambleHeader) return;
      const uint64_t protocol = get_u64(in->header);
      const uint64_t length = get_u64(in->header + 16);
      if (protocol != kPreambleProtocol || length == 0 || length > kMaxAddress) {
        spdlog::warn("cluster: peer connection refused: not a revkv peer preamble");
        return self->close_handle(reinterpret_cast<uv_handle_t*>(stream));
      }
      in->id = get_u64(in->header + 8);
      in->address.assign(length, '\0');
      return;
    }
    in->address_read += static_cast<size_t>(nread);
    if (in->address_read < in->address.size()) return;
    uv_read_stop(stream);
    if (const std::string why = self->refusal(*in); !why.empty()) {
      spdlog::warn("cluster: peer connection refused: {}", why);
      return self->close_handle(reinterpret_cast<uv_handle_t*>(stream));
    }
    auto node = self->incoming_.extract(in->pipe);
    stream->data = nullptr;
    // libraft owns the handle from here (it uv_close()s and raft_free()s it).
    self->accept_cb_(self->t_, in->id, in->address.c_str(), stream);
  }

  // Why the member an incoming connection claims to be (its preamble) is not the one its
  // certificate names; empty when it is. Without this, any certificate from the peer CA
  // could pose as any member.
  std::string refusal(const Incoming& in) const {
    for (const char c : in.address) {
      if (c < 0x21 || c > 0x7e) return "the preamble's address is not printable";
    }
    const std::string claim = "member " + std::to_string(in.id) + " at " + in.address;
    const auto configured = members_ ? members_(in.id) : std::nullopt;
    if (!configured) return claim + ": not a configured member";
    if (*configured != in.address)
      return claim + ": that member's configured address is " + *configured;
    // Asked for and verified by the terminator; absent only when the peer port was
    // configured not to ask, where there is no identity to tie.
    if (!in.certificate) {
      if (config_.server->config().client_cert_auth) return claim + ": no client certificate";
      return {};
    }
    std::string host, port;
    if (!split_address(in.address, host, port)) return claim + ": not HOST:PORT";
    if (!certificate_names_host(in.certificate.get(), host))
      return claim + ": its certificate does not name " + host + " in its SANs";
    return {};
  }

  // Closes one of our handles (a pipe in its preamble, and frees it).
  void close_handle(uv_handle_t* handle) {
    if (uv_is_closing(handle)) return;
    ++closing_handles_;
    uv_close(handle, [](uv_handle_t* h) {
      auto* in = static_cast<Incoming*>(h->data);
      PeerTlsTransport::Impl* self = in->owner;
      auto node = self->incoming_.extract(reinterpret_cast<uv_pipe_t*>(h));
      raft_free(h);
      --self->closing_handles_;
      self->maybe_closed();
    });
  }

  void maybe_closed() {
    if (!closing_ || closing_handles_ != 0 || close_cb_ == nullptr) return;
    auto cb = std::exchange(close_cb_, nullptr);
    cb(t_);
  }

  // Every kReapIntervalMs: outgoing tunnels whose relay ended are destroyed, which closes
  // libraft's stream's other end (its next write fails, and it reconnects); finished
  // dialing threads are joined.
  void reap() {
    std::erase_if(tunnels_, [](const auto& tunnel) { return tunnel->finished(); });
    for (auto it = workers_.begin(); it != workers_.end();) {
      if (it->done->load()) {
        it->thread.join();
        it = workers_.erase(it);
      } else {
        ++it;
      }
    }
  }

  void signal_closing() {
    std::lock_guard lock(shared_->mutex);
    if (shared_->closing) return;
    shared_->closing = true;
    const uint64_t one = 1;
    [[maybe_unused]] auto ignored = ::write(shared_->wake.get(), &one, sizeof one);
    for (auto& [number, fd] : shared_->tls)
      ::shutdown(fd, SHUT_RDWR);
  }

  void set_error(const std::string& message) {
    std::snprintf(t_->errmsg, sizeof t_->errmsg, "%s", message.c_str());
  }

  raft_uv_transport* t_;
  LoopThread& loop_;
  PeerTls config_;
  std::shared_ptr<Shared> shared_;
  raft_id id_ = 0;
  std::string address_;
  raft_uv_accept_cb accept_cb_ = nullptr;
  PeerTlsTransport::MemberLookup members_;
  raft_uv_transport_close_cb close_cb_ = nullptr;
  std::unique_ptr<tls::Listener> listener_;
  std::unordered_map<uv_pipe_t*, std::unique_ptr<Incoming>> incoming_;
  std::unordered_map<uint64_t, Dial> dials_pending_;
  uint64_t dials_ = 0;
  std::list<Worker> workers_;
  std::vector<std::shared_ptr<tls::ClientTunnel>> tunnels_;
  std::unordered_map<std::string, std::pair<std::string, Clock::time_point>> refused_;
  uv_timer_t reaper_{};
  bool reaper_open_ = false;
  bool closing_ = false;
  int closing_handles_ = 0;
};

namespace {

PeerTlsTransport::Impl* impl_of(raft_uv_transport* t) {
  return static_cast<PeerTlsTransport::Impl*>(t->impl);
}

}  // namespace

PeerTlsTransport::PeerTlsTransport(raft_uv_transport* transport, LoopThread& loop, PeerTls config)
    : impl_(std::make_unique<Impl>(transport, loop, std::move(config))) {
  if (!impl_->ready())
    throw std::runtime_error("peer TLS: eventfd: " + std::string(std::strerror(errno)));
  transport->impl = impl_.get();
  transport->init = [](raft_uv_transport* t, raft_id id, const char* address) {
    return impl_of(t)->init(id, address);
  };
  transport->listen = [](raft_uv_transport* t, raft_uv_accept_cb cb) {
    return impl_of(t)->listen(cb);
  };
  transport->connect = [](raft_uv_transport* t, raft_uv_connect* req, raft_id id,
                          const char* address, raft_uv_connect_cb cb) {
    return impl_of(t)->connect(req, id, address, cb);
  };
  transport->close = [](raft_uv_transport* t, raft_uv_transport_close_cb cb) {
    impl_of(t)->close(cb);
  };
}

PeerTlsTransport::~PeerTlsTransport() = default;

void PeerTlsTransport::set_members(MemberLookup lookup) {
  impl_->set_members(std::move(lookup));
}

void PeerTlsTransport::shut() {
  impl_->shut();
}

bool certificate_names_host(X509* certificate, const std::string& host) {
  return is_ip_literal(host)
             ? X509_check_ip_asc(certificate, host.c_str(), 0) == 1
             : X509_check_host(certificate, host.data(), host.size(), 0, nullptr) == 1;
}

}  // namespace revkv::cluster
