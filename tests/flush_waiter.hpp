#pragma once

// Waits for a backend's flushes of the `latest` column to end, woken by
// storage::BackendHooks::after_flush instead of polling. What the column's flush rules decide
// depends on whether the previous flush has ended (its entries count below until then), and
// RocksDB flushes in the background at its own pace: slowly on a busy machine or under
// sanitizers.

#include "storage/backend.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>

namespace revkv::testing {

class FlushWaiter {
 public:
  // A waiter woken by `hooks` (set before the backend opens). The hooks hold it, so it lives
  // as long as the backend that calls them.
  static std::shared_ptr<FlushWaiter> attach(storage::BackendHooks& hooks) {
    auto waiter = std::make_shared<FlushWaiter>();
    hooks.after_flush = [waiter] { waiter->flushed(); };
    return waiter;
  }

  // Until done() holds, checked again after each flush that ends; false if the deadline
  // (there only so that a failure cannot hang) passed first.
  template <class Done>
  bool wait(Done done, std::chrono::seconds deadline = std::chrono::seconds(60)) {
    std::unique_lock lock(mutex_);
    return flushed_.wait_for(lock, deadline, done);
  }

  // Until no flush of the `latest` column is in flight.
  void wait_none_in_flight(storage::Backend& backend) {
    auto none = [&] {
      auto n = backend.immutable_memtables(storage::Column::latest);
      REQUIRE(n.ok());
      return *n == 0;
    };
    REQUIRE(wait(none));
  }

 private:
  void flushed() {
    std::lock_guard lock(mutex_);
    flushed_.notify_all();
  }

  std::mutex mutex_;
  std::condition_variable flushed_;
};

}  // namespace revkv::testing
