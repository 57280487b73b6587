#include "apps/revkvd/peer_prober.hpp"

#include "util/unique_fd.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <charconv>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <utility>

namespace revkv::apps {

double probe_round_trip(const std::string& address, std::chrono::milliseconds timeout) {
  const auto colon = address.rfind(':');
  if (colon == std::string::npos) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  unsigned port = 0;
  const char* first = address.data() + colon + 1;
  const char* last = address.data() + address.size();
  if (auto [end, ec] = std::from_chars(first, last, port);
      ec != std::errc{} || end != last || port == 0 || port > 65535)
    return -1;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (::inet_pton(AF_INET, address.substr(0, colon).c_str(), &addr.sin_addr) != 1) return -1;

  util::UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return -1;
  const auto started = std::chrono::steady_clock::now();
  int rv = ::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
  if (rv != 0 && errno != EINPROGRESS) return -1;
  if (rv != 0) {
    pollfd p{fd.get(), POLLOUT, 0};
    int ready = 0;
    do {
      ready = ::poll(&p, 1, static_cast<int>(timeout.count()));
    } while (ready < 0 && errno == EINTR);
    if (ready <= 0) return -1;
    int error = 0;
    socklen_t len = sizeof error;
    if (::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &error, &len) != 0 || error != 0) return -1;
  }
  const auto took = std::chrono::steady_clock::now() - started;
  return std::chrono::duration<double>(took).count();
}

PeerProber::PeerProber(std::vector<Peer> peers, actors::PeerRoundTrips& out,
                       std::chrono::milliseconds interval, std::chrono::milliseconds timeout)
    : peers_(std::move(peers)), out_(out), interval_(interval), timeout_(timeout) {
  thread_ = std::thread([this] { run(); });
}

PeerProber::~PeerProber() {
  stop();
}

void PeerProber::stop() {
  {
    std::lock_guard lock(mu_);
    quit_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void PeerProber::run() {
  std::unique_lock lock(mu_);
  while (!quit_) {
    lock.unlock();
    for (const auto& peer : peers_) {
      {
        std::lock_guard check(mu_);
        if (quit_) return;  // stop() waits for one probe at most, not a round
      }
      double seconds = probe_round_trip(peer.address, timeout_);
      if (seconds >= 0) out_.observe(peer.id, seconds);
    }
    lock.lock();
    wake_.wait_for(lock, interval_, [this] { return quit_; });
  }
}

}  // namespace revkv::apps
