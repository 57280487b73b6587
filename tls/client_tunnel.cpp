#include "tls/client_tunnel.hpp"

#include "tls/openssl_errors.hpp"

#include <arpa/inet.h>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <string_view>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

namespace revkv::tls {

namespace {

constexpr size_t kBuffer = 16 * 1024;  // one TLS record

void set_nonblocking(int fd) {
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
}

bool is_ip(const std::string& host) {
  in6_addr a6{};
  in_addr a4{};
  return ::inet_pton(AF_INET, host.c_str(), &a4) == 1 ||
         ::inet_pton(AF_INET6, host.c_str(), &a6) == 1;
}

}  // namespace

struct ClientTunnel::State {
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx{nullptr, SSL_CTX_free};
  std::unique_ptr<SSL, decltype(&SSL_free)> ssl{nullptr, SSL_free};
  util::UniqueFd tcp;
  util::UniqueFd plain;                  // the tunnel's end of the socketpair
  util::UniqueFd wake_read, wake_write;  // a pipe: the destructor's stop request
  std::atomic<bool> finished{false};     // relay() returned

  // Moves bytes until either side ends or the destructor asks. Non-blocking throughout:
  // each turn does what it can, then polls for what it waits on.
  void relay() {
    std::vector<char> to_tls, to_plain;
    std::vector<char> buf(kBuffer);
    bool tls_eof = false;
    for (;;) {
      bool progress = false;
      short tcp_events = 0, plain_events = 0;
      // TLS -> plain.
      if (to_plain.empty() && !tls_eof) {
        const int n = SSL_read(ssl.get(), buf.data(), static_cast<int>(buf.size()));
        if (n > 0) {
          to_plain.assign(buf.data(), buf.data() + n);
          progress = true;
        } else {
          const int e = SSL_get_error(ssl.get(), n);
          if (e == SSL_ERROR_WANT_READ) {
            tcp_events |= POLLIN;
          } else if (e == SSL_ERROR_WANT_WRITE) {
            tcp_events |= POLLOUT;
          } else {
            // The server closed: the client reads the end of its input.
            tls_eof = true;
            ::shutdown(plain.get(), SHUT_WR);
            progress = true;
          }
        }
      }
      if (!to_plain.empty()) {
        const ssize_t n = ::send(plain.get(), to_plain.data(), to_plain.size(), MSG_NOSIGNAL);
        if (n > 0) {
          to_plain.erase(to_plain.begin(), to_plain.begin() + n);
          progress = true;
        } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
          plain_events |= POLLOUT;
        } else {
          return;  // the client is gone
        }
      }
      // plain -> TLS.
      if (to_tls.empty()) {
        const ssize_t n = ::recv(plain.get(), buf.data(), buf.size(), 0);
        if (n > 0) {
          to_tls.assign(buf.data(), buf.data() + n);
          progress = true;
        } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
          plain_events |= POLLIN;
        } else {
          SSL_shutdown(ssl.get());  // close_notify, best effort
          return;                   // the client closed its end
        }
      }
      if (!to_tls.empty()) {
        const int n = SSL_write(ssl.get(), to_tls.data(), static_cast<int>(to_tls.size()));
        if (n > 0) {
          to_tls.erase(to_tls.begin(), to_tls.begin() + n);
          progress = true;
        } else {
          const int e = SSL_get_error(ssl.get(), n);
          if (e == SSL_ERROR_WANT_READ)
            tcp_events |= POLLIN;
          else if (e == SSL_ERROR_WANT_WRITE)
            tcp_events |= POLLOUT;
          else
            return;  // the server is gone
        }
      }
      if (progress) continue;
      pollfd p[3] = {
          {tcp.get(), tcp_events, 0}, {plain.get(), plain_events, 0}, {wake_read.get(), POLLIN, 0}};
      const int rc = ::poll(p, 3, -1);
      if (rc < 0 && errno != EINTR) return;
      if (p[2].revents) return;
      if ((p[0].revents | p[1].revents) & POLLNVAL) return;
    }
  }
};

std::unique_ptr<ClientTunnel> ClientTunnel::open(util::UniqueFd tcp, const std::string& host,
                                                 const ClientConfig& config,
                                                 std::chrono::milliseconds timeout,
                                                 util::UniqueFd& plain, std::string& error) {
  ERR_clear_error();
  auto state = std::make_unique<State>();
  state->ctx.reset(SSL_CTX_new(TLS_client_method()));
  SSL_CTX* ctx = state->ctx.get();
  if (!ctx) {
    error = "TLS: " + openssl_errors();
    return nullptr;
  }
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  if (!config.insecure_skip_verify) {
    const bool loaded = config.ca_file.empty() ? SSL_CTX_set_default_verify_paths(ctx) == 1
                                               : SSL_CTX_load_verify_locations(
                                                     ctx, config.ca_file.c_str(), nullptr) == 1;
    if (!loaded) {
      error = "cannot load --cacert " + config.ca_file + ": " + openssl_errors();
      return nullptr;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  }
  if (!config.cert_file.empty() || !config.key_file.empty()) {
    if (config.cert_file.empty() || config.key_file.empty()) {
      error = "--cert and --key go together";
      return nullptr;
    }
    if (SSL_CTX_use_certificate_chain_file(ctx, config.cert_file.c_str()) != 1) {
      error = "cannot load --cert " + config.cert_file + ": " + openssl_errors();
      return nullptr;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, config.key_file.c_str(), SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
      error = "cannot load --key " + config.key_file + ": " + openssl_errors();
      return nullptr;
    }
  }
  state->ssl.reset(SSL_new(ctx));
  SSL* ssl = state->ssl.get();
  if (!config.insecure_skip_verify) {
    // The name the certificate must carry: an IP address in its IP SANs, a host name in its
    // DNS SANs, as etcdctl (Go) checks.
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
    const int ok = is_ip(host) ? X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str())
                               : X509_VERIFY_PARAM_set1_host(param, host.c_str(), 0);
    if (ok != 1) {
      error = "TLS: bad server name " + host;
      return nullptr;
    }
  }
  if (!is_ip(host)) SSL_set_tlsext_host_name(ssl, host.c_str());
  set_nonblocking(tcp.get());
  SSL_set_fd(ssl, tcp.get());
  state->tcp = std::move(tcp);

  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const int rc = SSL_connect(ssl);
    if (rc == 1) break;
    const int e = SSL_get_error(ssl, rc);
    if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
      const long verify = SSL_get_verify_result(ssl);
      std::string why = openssl_errors("");
      if (verify != X509_V_OK)
        why = std::string("server certificate: ") + X509_verify_cert_error_string(verify);
      if (why.empty())
        why = "the server closed the connection (does it want a client certificate?)";
      error = "TLS handshake with " + host + " failed: " + why;
      return nullptr;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      error = "TLS handshake with " + host + " timed out";
      return nullptr;
    }
    pollfd p{state->tcp.get(), static_cast<short>(e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT), 0};
    ::poll(&p, 1, static_cast<int>(left.count()));
  }
  int pair[2];
  int pipe_fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) {
    error = std::string("TLS: socketpair: ") + std::strerror(errno);
    return nullptr;
  }
  // Owned at once, so that a failing pipe2 below does not leak the pair.
  util::UniqueFd ours(pair[0]);
  state->plain.reset(pair[1]);
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
    error = std::string("TLS: pipe2: ") + std::strerror(errno);
    return nullptr;
  }
  plain = std::move(ours);
  state->wake_read.reset(pipe_fds[0]);
  state->wake_write.reset(pipe_fds[1]);
  set_nonblocking(state->plain.get());
  return std::unique_ptr<ClientTunnel>(new ClientTunnel(std::move(state)));
}

ClientTunnel::ClientTunnel(std::unique_ptr<State> state) : state_(std::move(state)) {
  relay_ = std::thread([s = state_.get()] {
    s->relay();
    s->finished.store(true);
  });
}

bool ClientTunnel::finished() const {
  return state_->finished.load();
}

ClientTunnel::~ClientTunnel() {
  const char stop = 1;
  [[maybe_unused]] auto ignored = ::write(state_->wake_write.get(), &stop, 1);
  if (relay_.joinable()) relay_.join();
}

}  // namespace revkv::tls
