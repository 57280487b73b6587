#pragma once

// Counts the HTTP/2 door's calls that have not ended yet, so that its shutdown can wait for
// them: the KV calls whose answers have not reached their loop, and the relayed calls (the
// in-process channel that carries their answers must outlive them). A waiter sleeps on a
// condition variable until the count is 0 or its deadline passes.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace revkv::etcdapi::h2 {

class LiveCount {
 public:
  void add() {
    std::lock_guard lock(mu_);
    ++live_;
  }
  void done() {
    std::lock_guard lock(mu_);
    if (--live_ == 0) ended_.notify_all();
  }
  // True when none is left before `deadline`.
  bool wait_none(std::chrono::steady_clock::time_point deadline) {
    std::unique_lock lock(mu_);
    return ended_.wait_until(lock, deadline, [this] { return live_ == 0; });
  }

 private:
  std::mutex mu_;
  std::condition_variable ended_;
  int64_t live_ = 0;
};

}  // namespace revkv::etcdapi::h2
