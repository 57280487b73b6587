#pragma once

// An injectable steady clock. The lessor reads lease time from one (SPEC §8; NodeConfig::
// clock): the node the real steady clock, a test a ManualClock, whose time moves only when
// the test advances it; the test then sends the lessor its expiry checks itself
// (expire_atom, actors/lessor_actor.hpp), so that lease tests wait for no real time.

#include <atomic>
#include <chrono>
#include <memory>

namespace revkv::util {

class Clock {
 public:
  using time_point = std::chrono::steady_clock::time_point;
  using duration = std::chrono::steady_clock::duration;

  virtual ~Clock() = default;
  virtual time_point now() const = 0;
  // True when time moves only when someone moves it: whatever would poll the clock on a
  // real timer (the lessor's periodic expiry check) starts no timer and is driven by
  // explicit messages instead.
  virtual bool manual() const { return false; }
};

using ClockPtr = std::shared_ptr<Clock>;

class SteadyClock final : public Clock {
 public:
  time_point now() const override { return std::chrono::steady_clock::now(); }
};

// The process's real clock (one shared instance).
inline ClockPtr real_clock() {
  static const ClockPtr clock = std::make_shared<SteadyClock>();
  return clock;
}

// A clock for tests: starts at `start` and moves only by advance(). Thread-safe (the test
// advances it, the lessor's thread reads it).
class ManualClock final : public Clock {
 public:
  explicit ManualClock(time_point start = time_point{}) : now_(start.time_since_epoch().count()) {}

  time_point now() const override { return time_point{duration{now_.load()}}; }
  bool manual() const override { return true; }

  void advance(duration d) { now_.fetch_add(d.count()); }

 private:
  std::atomic<duration::rep> now_;
};

}  // namespace revkv::util
