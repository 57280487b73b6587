#pragma once

// A gate on the backend's WAL fsyncs (storage::BackendHooks::before_sync), for tests that
// must hold a commit: while closed, every fsync waits in the hook on the thread that syncs.
// It records the name of each thread that synced, so a test can tell which actor did.

#include "storage/backend.hpp"

#include <array>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <pthread.h>
#include <string>
#include <utility>
#include <vector>

namespace revkv::testing {

class SyncGate {
 public:
  // Hooks that route every fsync of a backend through `gate`.
  static storage::BackendHooks hooks(const std::shared_ptr<SyncGate>& gate) {
    storage::BackendHooks h;
    h.before_sync = [gate] { gate->pass(); };
    return h;
  }

  void close() {
    std::lock_guard lock(mutex_);
    open_ = false;
  }
  void open() {
    std::lock_guard lock(mutex_);
    open_ = true;
    changed_.notify_all();
  }
  // Waits until an fsync is held at the closed gate; false when `deadline` passed first.
  bool wait_held(std::chrono::milliseconds deadline = std::chrono::seconds(30)) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, deadline, [this] { return held_ > 0; });
  }
  // The names of the threads that synced since the last call.
  std::vector<std::string> take_threads() {
    std::lock_guard lock(mutex_);
    return std::exchange(threads_, {});
  }

 private:
  void pass() {
    std::array<char, 16> name{};
    pthread_getname_np(pthread_self(), name.data(), name.size());
    std::unique_lock lock(mutex_);
    threads_.emplace_back(name.data());
    ++held_;
    changed_.notify_all();
    changed_.wait(lock, [this] { return open_; });
    --held_;
  }

  std::mutex mutex_;
  std::condition_variable changed_;
  bool open_ = true;
  int held_ = 0;
  std::vector<std::string> threads_;
};

// Opens the gate when it leaves scope: a failing test does not leave the node's threads
// waiting (declare it after what must still run, so that it is destroyed first).
class OpenOnExit {
 public:
  explicit OpenOnExit(std::shared_ptr<SyncGate> gate) : gate_(std::move(gate)) {}
  ~OpenOnExit() { gate_->open(); }
  OpenOnExit(const OpenOnExit&) = delete;
  OpenOnExit& operator=(const OpenOnExit&) = delete;

 private:
  std::shared_ptr<SyncGate> gate_;
};

}  // namespace revkv::testing
