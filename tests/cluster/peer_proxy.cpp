#include "tests/cluster/peer_proxy.hpp"

#include "tests/monitoring/http_client.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdexcept>
#include <string>
#include <sys/socket.h>
#include <unistd.h>

namespace revkv::testing {
namespace {

// libraft's handshake: protocol version, then the sender's id (little-endian uint64 each).
constexpr size_t kHandshakePrefix = 16;
// A sender that does not say who it is within this is dropped (it is not libraft).
constexpr int kHandshakeTimeoutMs = 5000;

bool read_exactly(int fd, char* out, size_t size, int timeout_ms) {
  size_t got = 0;
  while (got < size) {
    pollfd p{fd, POLLIN, 0};
    int ready = ::poll(&p, 1, timeout_ms);
    if (ready <= 0) return false;
    ssize_t n = ::read(fd, out + got, size - got);
    if (n <= 0) return false;
    got += static_cast<size_t>(n);
  }
  return true;
}

bool write_all(int fd, const char* data, size_t size) {
  while (size > 0) {
    ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

uint64_t little_endian(const char* bytes) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i)
    v = (v << 8) | static_cast<unsigned char>(bytes[i]);
  return v;
}

}  // namespace

struct PeerProxy::Connection {
  int client = -1;
  int upstream = -1;  // set under mu_ once connected
  bool identified = false;
  uint64_t sender = 0;
  std::atomic<bool> done{false};
  std::thread thread;
};

PeerProxy::PeerProxy(uint16_t target_port) : target_(target_port) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) throw std::runtime_error("proxy socket: " + std::string(strerror(errno)));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listen_fd_, 64) != 0 ||
      ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    std::string reason = strerror(errno);
    ::close(listen_fd_);
    throw std::runtime_error("proxy listen: " + reason);
  }
  port_ = ntohs(addr.sin_port);
  acceptor_ = std::thread([this] { accept_loop(); });
}

PeerProxy::~PeerProxy() {
  stopping_.store(true);
  // Wakes accept() (Linux: a shut listening socket fails accept with EINVAL).
  ::shutdown(listen_fd_, SHUT_RDWR);
  acceptor_.join();
  ::close(listen_fd_);
  close_matching(/*all=*/true, 0);
  for (auto& c : connections_)
    if (c->thread.joinable()) c->thread.join();
}

bool PeerProxy::is_cut(uint64_t sender) {
  return all_cut_ || cut_.count(sender) != 0;
}

void PeerProxy::cut(uint64_t sender) {
  {
    std::lock_guard lock(mu_);
    cut_.insert(sender);
  }
  close_matching(false, sender);
}

void PeerProxy::cut_all() {
  {
    std::lock_guard lock(mu_);
    all_cut_ = true;
  }
  close_matching(true, 0);
}

void PeerProxy::heal() {
  std::lock_guard lock(mu_);
  all_cut_ = false;
  cut_.clear();
}

// shutdown(), not close(): the serving thread owns the descriptors and closes them once its
// poll wakes up, so no descriptor number is reused under it.
void PeerProxy::close_matching(bool all, uint64_t sender) {
  std::lock_guard lock(mu_);
  for (auto& c : connections_) {
    if (c->done.load()) continue;
    if (!all && (!c->identified || c->sender != sender)) continue;
    ::shutdown(c->client, SHUT_RDWR);
    if (c->upstream >= 0) ::shutdown(c->upstream, SHUT_RDWR);
  }
}

void PeerProxy::accept_loop() {
  while (!stopping_.load()) {
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      return;  // shut down (or the listener broke: nothing more to accept)
    }
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    std::lock_guard lock(mu_);
    // Finished connections' threads are joined here, so they do not pile up.
    for (auto it = connections_.begin(); it != connections_.end();) {
      if ((*it)->done.load()) {
        (*it)->thread.join();
        it = connections_.erase(it);
      } else {
        ++it;
      }
    }
    if (stopping_.load()) {
      ::close(fd);
      return;
    }
    auto c = std::make_unique<Connection>();
    c->client = fd;
    Connection* raw = c.get();
    connections_.push_back(std::move(c));
    raw->thread = std::thread([this, raw] { serve(*raw); });
  }
}

void PeerProxy::serve(Connection& c) {
  char prefix[kHandshakePrefix];
  bool admitted = false;
  int upstream = -1;
  if (read_exactly(c.client, prefix, sizeof prefix, kHandshakeTimeoutMs)) {
    const uint64_t sender = little_endian(prefix + 8);
    std::lock_guard lock(mu_);
    c.sender = sender;
    c.identified = true;
    admitted = !is_cut(sender) && !stopping_.load();
  }
  if (admitted) upstream = connect_loopback(target_);
  if (upstream >= 0) {
    std::lock_guard lock(mu_);
    c.upstream = upstream;
    // A cut between the check above and now has not seen `upstream`: look again.
    admitted = !is_cut(c.sender) && !stopping_.load();
  }
  if (!admitted) {
    if (c.identified) refused_.fetch_add(1);
  } else if (upstream >= 0 && write_all(upstream, prefix, sizeof prefix)) {
    relayed_.fetch_add(1);
    char buffer[64 * 1024];
    pollfd fds[2] = {{c.client, POLLIN, 0}, {upstream, POLLIN, 0}};
    bool open = true;
    while (open) {
      if (::poll(fds, 2, -1) < 0) {
        if (errno == EINTR) continue;
        break;
      }
      for (int i = 0; i < 2 && open; ++i) {
        if (fds[i].revents == 0) continue;
        ssize_t n = ::read(fds[i].fd, buffer, sizeof buffer);
        // End of stream or an error on either side ends both (a Raft connection is not
        // half-closed).
        if (n <= 0 || !write_all(fds[1 - i].fd, buffer, static_cast<size_t>(n))) open = false;
      }
    }
  }
  {
    std::lock_guard lock(mu_);
    ::close(c.client);
    if (upstream >= 0) ::close(upstream);
    c.upstream = -1;
    c.done.store(true);
  }
}

}  // namespace revkv::testing
