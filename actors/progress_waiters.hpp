#pragma once

// Threads waiting for a value that only grows (an applied Raft index, the watermark W) and
// that another thread moves: the mover calls moved() after each store, which costs one
// atomic load while nobody waits. The waiter registers before it looks at the value, the
// mover stores before it looks at the count (both sequentially consistent), so either the
// waiter sees the new value or the mover sees the waiter and wakes it under the mutex.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>

namespace revkv::actors {

class ProgressWaiters {
 public:
  void moved() {
    if (waiting_.load() == 0) return;
    std::lock_guard lock(mutex_);
    cv_.notify_all();
  }
  // Blocks until `reached()` (true) or `deadline` (false).
  template <class Reached>
  bool wait_until(Reached reached, std::chrono::steady_clock::time_point deadline) {
    if (reached()) return true;
    waiting_.fetch_add(1);
    std::unique_lock lock(mutex_);
    bool done = cv_.wait_until(lock, deadline, reached);
    waiting_.fetch_sub(1);
    return done;
  }
  // Callers inside wait_until now (tests: a waiter is registered before the value moves).
  int waiting() const { return waiting_.load(); }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::atomic<int> waiting_{0};
};

}  // namespace revkv::actors
