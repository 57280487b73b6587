#include "actors/leadership_drain.hpp"

#include "actors/fatal.hpp"
#include "actors/node_context.hpp"

#include <spdlog/spdlog.h>

#include <atomic>
#include <thread>

namespace revkv::actors {

namespace {

constexpr std::chrono::milliseconds kConditionPoll{2};

}  // namespace

protocol::WireError leader_changed_error() {
  return {14, "etcdserver: leader changed"};
}

void DrainSignal::release() {
  {
    std::lock_guard lock(mutex_);
    released_ = true;
  }
  released_cv_.notify_all();
}

void DrainSignal::also_wait_for(Condition settled) {
  std::lock_guard lock(mutex_);
  conditions_.push_back(std::move(settled));
}

bool DrainSignal::wait_until(Clock::time_point deadline) {
  std::vector<Condition> conditions;
  {
    std::unique_lock lock(mutex_);
    if (!released_cv_.wait_until(lock, deadline, [this] { return released_; })) return false;
    conditions = conditions_;
  }
  // Conditions of other components (gRPC's own threads finish the calls): nothing tells
  // when they change, so they are polled, briefly and within the same bound.
  for (const auto& settled : conditions) {
    while (!settled(deadline)) {
      if (Clock::now() >= deadline) return false;
      std::this_thread::sleep_for(kConditionPoll);
    }
  }
  return true;
}

void answer_leader_changed_then_restart(NodeContext& ctx, const std::string& why) {
  static std::atomic<bool> begun{false};
  if (begun.exchange(true)) {
    // The other trigger drains and restarts this process within kDrainBound.
    for (;;)
      std::this_thread::sleep_for(std::chrono::hours(1));
  }
  const auto deadline = DrainSignal::Clock::now() + kDrainBound;
  // From now on every request path refuses what it is given (RequestPath::submit), as
  // after a node failure, with etcd's answer instead of Unavailable's reason.
  ctx.failure.record(leader_changed_error().message, /*as_answer=*/true);
  spdlog::warn("{}; answering what waits with `etcdserver: leader changed`", why);
  auto signal = std::make_shared<DrainSignal>();
  if (ctx.cluster) {
    auto hold = std::make_shared<DrainHold>(signal);
    ctx.cluster->drain_doors(hold);
  } else {
    signal->release();
  }
  // This thread's copy is gone: the doors' copies are the last ones.
  if (!signal->wait_until(deadline))
    spdlog::warn("leadership drain: not every answer was written within {} ms; restarting anyway",
                 kDrainBound.count());
  restart_in_place(why);
}

}  // namespace revkv::actors
