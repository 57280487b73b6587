#include "apps/revkvd/catchup_fetcher.hpp"

#include "apps/revkvd/peer_dial.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <sys/socket.h>
#include <unistd.h>

namespace revkv::apps {
namespace {

constexpr std::chrono::milliseconds kConnectTimeout{5000};
constexpr std::chrono::milliseconds kFirstPause{1000};
constexpr std::chrono::milliseconds kLongestPause{30000};

}  // namespace

CheckpointFetcher::CheckpointFetcher(const std::filesystem::path& data_dir,
                                     tls::ClientConfig peer_tls, std::function<void()> on_staged)
    : paths_(data_dir), tls_(std::move(peer_tls)), on_staged_(std::move(on_staged)) {}

CheckpointFetcher::~CheckpointFetcher() {
  cancel();
  if (thread_.joinable()) thread_.join();
}

void CheckpointFetcher::cancel() {
  {
    std::lock_guard lock(mutex_);
    quit_ = true;
    if (socket_ >= 0) ::shutdown(socket_, SHUT_RDWR);
  }
  wake_.notify_all();
}

void CheckpointFetcher::start(const std::string& source, std::uint64_t index) {
  {
    std::lock_guard lock(mutex_);
    source_ = source;
    index_ = index;
  }
  if (staged_.load() || running_.exchange(true)) return;
  thread_ = std::thread([this] { retry_loop(); });
}

void CheckpointFetcher::retry_loop() {
  auto pause = kFirstPause;
  std::unique_lock lock(mutex_);
  while (!quit_) {
    auto source = source_;
    auto index = index_;
    lock.unlock();
    bool staged = fetch(source, index);
    lock.lock();
    if (staged) return;
    // Not a synchronisation: a pause between attempts, cut short when the fetcher goes.
    wake_.wait_for(lock, pause, [this] { return quit_; });
    pause = std::min(pause * 2, kLongestPause);
  }
}

bool CheckpointFetcher::fetch(const std::string& source, std::uint64_t index) {
  if (!stage(source, index)) return false;
  // Staged while the member stops: the clean stop goes on, and the next start installs it.
  if (!cancelled()) on_staged_();
  return true;
}

bool CheckpointFetcher::stage(const std::string& source, std::uint64_t index) {
  // Both fetch into the same staging directory: one at a time, and none once one is staged.
  std::lock_guard fetching(fetch_mutex_);
  if (staged_.load()) return true;
  std::string error;
  spdlog::info("catch-up: fetching a checkpoint from {} (snapshot index {})", source, index);
  const auto started = std::chrono::steady_clock::now();
  if (!fetch_once(source, index, error)) {
    std::error_code ec;
    std::filesystem::remove_all(paths_.staging, ec);
    spdlog::warn("catch-up: fetching from {} failed: {}; trying again", source, error);
    return false;
  }
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                  started)
                .count();
  spdlog::info("catch-up: checkpoint from {} verified and staged in {} ms; restarting into it",
               source, ms);
  staged_.store(true);
  return true;
}

bool CheckpointFetcher::fetch_once(const std::string& source, std::uint64_t index,
                                   std::string& error) {
  std::error_code ec;
  std::filesystem::remove_all(paths_.staging, ec);
  std::filesystem::create_directories(paths_.root, ec);
  if (ec) {
    error = "create " + paths_.root.string() + ": " + ec.message();
    return false;
  }
  auto connection = dial_peer(source, tls_, kConnectTimeout, kConnectTimeout, error);
  if (!connection.valid()) return false;
  const int plain = connection.plain.get();
  {
    std::lock_guard lock(mutex_);
    if (quit_) {
      error = "stopping";
      return false;
    }
    socket_ = plain;
  }
  bool received = receive_checkpoint(plain, paths_.staging, limits_, error);
  {
    std::lock_guard lock(mutex_);
    socket_ = -1;
  }
  if (!received) return false;
  return mark_staged(paths_, source, index, error);
}

}  // namespace revkv::apps
