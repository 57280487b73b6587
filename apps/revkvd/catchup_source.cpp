#include "apps/revkvd/catchup_source.hpp"

#include "apps/revkvd/publish_request.hpp"
#include "tls/listener.hpp"

#include <spdlog/spdlog.h>

#include <arpa/inet.h>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <netinet/in.h>
#include <poll.h>
#include <stdexcept>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

namespace revkv::apps {
namespace {

// Fetchers waiting for their turn beyond the one being served; more are refused (closed):
// a cluster has a handful of members, and each retries on the leader's next InstallSnapshot.
constexpr size_t kMaxWaiting = 4;
// Connections whose request is not read yet; more are closed. Each is read within
// kRequestWithin, so the last of them is read within a few tens of seconds at worst.
constexpr size_t kMaxIncoming = 8;
constexpr std::chrono::milliseconds kRequestWithin{5000};

util::UniqueFd listen_tcp(const std::string& host, uint16_t port, uint16_t& bound) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  if (::inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1)
    throw std::runtime_error("catch-up port: '" + host + "' is not an IPv4 address");
  util::UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (!fd.valid() || ::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(fd.get(), 16) != 0) {
    throw std::runtime_error("cannot listen on " + host + ":" + std::to_string(port) +
                             " for catch-up: " + std::strerror(errno));
  }
  socklen_t len = sizeof addr;
  ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &len);
  bound = ntohs(addr.sin_port);
  return fd;
}

}  // namespace

std::unique_ptr<CheckpointSource> open_checkpoint_source(
    const storage::Backend& backend, const std::filesystem::path& data_dir, const std::string& host,
    uint16_t port, std::shared_ptr<tls::ServerCredentials> peer_tls, PublishHandler on_publish) {
  const auto work = data_dir / "catchup-source";
  if (port != 0)
    return std::make_unique<CheckpointSource>(backend, work, host, port, peer_tls, on_publish);
  const auto remembered = data_dir / "catchup-port";
  std::unique_ptr<CheckpointSource> source;
  unsigned previous = 0;
  if (std::ifstream in(remembered); in >> previous && previous > 0 && previous <= 65535) {
    try {
      source = std::make_unique<CheckpointSource>(
          backend, work, host, static_cast<uint16_t>(previous), peer_tls, on_publish);
    } catch (const std::exception& e) {
      spdlog::warn("catch-up: the previous catch-up port {} is taken ({}); picking another",
                   previous, e.what());
    }
  }
  if (!source)
    source = std::make_unique<CheckpointSource>(backend, work, host, 0, peer_tls, on_publish);
  if (source->port() != previous) {
    std::ofstream out(remembered, std::ios::trunc);
    out << source->port() << "\n";
  }
  return source;
}

CheckpointSource::CheckpointSource(const storage::Backend& backend, std::filesystem::path work_dir,
                                   const std::string& host, uint16_t port,
                                   std::shared_ptr<tls::ServerCredentials> peer_tls,
                                   PublishHandler on_publish)
    : backend_(backend),
      work_dir_(std::move(work_dir)),
      on_publish_(std::move(on_publish)),
      wake_fd_(::eventfd(0, EFD_CLOEXEC)) {
  if (const char* damage = std::getenv("REVKV_TEST_DAMAGE_CATCHUP"))
    damage_left_ = std::atoi(damage);
  // A transfer cut short by a crash left its checkpoint behind.
  std::error_code ec;
  std::filesystem::remove_all(work_dir_, ec);
  uint16_t bound = 0;
  if (peer_tls) {
    tls_listener_ = std::make_unique<tls::Listener>(
        host, port, std::move(peer_tls), "catch-up port", tls::Terminator::Limits{}, 1,
        tls::Terminator::PeerHandoff([this](int fd, const tls::Terminator::Peer& peer) {
          util::UniqueFd owned(fd);
          // The peer credentials require a verified client certificate; checked again here
          // because this door hands out the whole store.
          if (!peer.certificate) {
            spdlog::warn("catch-up: refused a connection without a peer certificate");
            return;
          }
          enqueue({std::move(owned), peer.certificate});
        }));
    bound = tls_listener_->port();
  } else {
    listen_fd_ = listen_tcp(host, port, bound);
    acceptor_ = std::thread([this] { accept_loop(); });
  }
  port_ = bound;
  address_ = host + ":" + std::to_string(bound);
  requests_ = std::thread([this] { request_loop(); });
  server_ = std::thread([this] { serve_loop(); });
}

CheckpointSource::~CheckpointSource() {
  stop();
}

void CheckpointSource::stop() {
  {
    std::lock_guard lock(mutex_);
    if (quit_) return;
    quit_ = true;
    incoming_.clear();
    waiting_.clear();
    // Cuts a transfer, and a request being read, short: their next poll sees the end.
    if (serving_fd_ >= 0) ::shutdown(serving_fd_, SHUT_RDWR);
    if (reading_fd_ >= 0) ::shutdown(reading_fd_, SHUT_RDWR);
  }
  wake_.notify_all();
  uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(wake_fd_.get(), &one, sizeof one);
  if (tls_listener_) tls_listener_->stop();
  if (acceptor_.joinable()) acceptor_.join();
  if (requests_.joinable()) requests_.join();
  if (server_.joinable()) server_.join();
  tls_listener_.reset();
  std::error_code ec;
  std::filesystem::remove_all(work_dir_, ec);
}

void CheckpointSource::accept_loop() {
  for (;;) {
    pollfd p[2] = {{listen_fd_.get(), POLLIN, 0}, {wake_fd_.get(), POLLIN, 0}};
    if (::poll(p, 2, -1) < 0 && errno != EINTR) return;
    if (p[1].revents != 0) return;
    if ((p[0].revents & POLLIN) == 0) continue;
    util::UniqueFd fd(::accept4(listen_fd_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (fd.valid()) enqueue({std::move(fd), nullptr});
  }
}

void CheckpointSource::enqueue(Connection connection) {
  std::lock_guard lock(mutex_);
  if (quit_ || incoming_.size() >= kMaxIncoming) return;
  incoming_.push_back(std::move(connection));
  wake_.notify_all();
}

void CheckpointSource::request_loop() {
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [this] { return quit_ || !incoming_.empty(); });
    if (quit_) return;
    Connection connection = std::move(incoming_.front());
    incoming_.pop_front();
    reading_fd_ = connection.fd.get();
    lock.unlock();
    take_request(std::move(connection));
    lock.lock();
    reading_fd_ = -1;
  }
}

void CheckpointSource::take_request(Connection connection) {
  const int fd = connection.fd.get();
  std::string error;
  auto request = read_catchup_port_request(fd, kRequestWithin, error);
  if (!request) {
    spdlog::warn("catch-up: no request read: {}", error);
    return;
  }
  switch (request->kind) {
    case CatchupPortRequest::Kind::checkpoint: {
      std::lock_guard lock(mutex_);
      if (quit_ || waiting_.size() >= kMaxWaiting) {
        // Closed: the fetcher tries again later.
        spdlog::warn("catch-up: refused a checkpoint request: {} are waiting already",
                     waiting_.size());
        return;
      }
      waiting_.push_back(std::move(connection.fd));
      wake_.notify_all();
      return;
    }
    case CatchupPortRequest::Kind::refused:
      spdlog::warn("catch-up: refused a request: {}", request->payload);
      answer_publish(fd, request->payload, kRequestWithin);
      return;
    case CatchupPortRequest::Kind::publish: {
      std::string refusal = on_publish_
                                ? on_publish_(request->payload, connection.certificate.get())
                                : "revkv: this catch-up port takes no publish requests";
      if (!refusal.empty()) spdlog::warn("catch-up: refused a publish request: {}", refusal);
      answer_publish(fd, refusal, kRequestWithin);
      return;
    }
  }
}

void CheckpointSource::serve_loop() {
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [this] { return quit_ || !waiting_.empty(); });
    if (quit_) return;
    util::UniqueFd fd = std::move(waiting_.front());
    waiting_.pop_front();
    serving_fd_ = fd.get();
    lock.unlock();
    serve(fd.get());
    lock.lock();
    serving_fd_ = -1;
  }
}

void CheckpointSource::serve(int fd) {
  std::string error;
  // The request line was read by the request thread.
  // A fresh checkpoint per transfer: consistent (RocksDB flushes and links at one sequence
  // number), with the applied Raft index written in the same batches as the data.
  const auto dir = work_dir_ / "checkpoint";
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  std::filesystem::create_directories(work_dir_, ec);
  auto made = backend_.checkpoint(dir.string());
  TransferLimits limits = limits_;
  if (damage_left_ > 0) {
    --damage_left_;
    limits.damage = true;
  }
  bool sent = false;
  if (!made.ok()) {
    error = "checkpoint: " + made.error().message();
    send_failure(fd, error, limits);
  } else {
    sent = send_checkpoint(fd, dir, limits, error);
  }
  std::filesystem::remove_all(dir, ec);
  // The receiver may refuse a damaged file and hang up before the rest is sent, so the
  // damage is logged whether or not the whole transfer went out.
  if (limits.damage)
    spdlog::warn("catch-up: {} a checkpoint damaged on purpose (REVKV_TEST_DAMAGE_CATCHUP){}",
                 sent ? "sent" : "began sending", sent ? "" : ": " + error);
  else if (sent)
    spdlog::info("catch-up: sent a checkpoint of this member's store");
  else
    spdlog::warn("catch-up: sending a checkpoint failed: {}", error);
}

}  // namespace revkv::apps
