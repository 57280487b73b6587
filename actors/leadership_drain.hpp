#pragma once

// Cluster mode: a member whose commit group failed to replicate answers what its doors hold
// with etcd's `etcdserver: leader changed` before it restarts in place (docs/CLUSTER.md
// "Leadership loss").
//
// One drain: the member makes a DrainSignal and one DrainHold on it, gives every door a
// copy of the hold (ClusterLink::drain_doors), drops its own and waits. A door answers
// everything waiting — and every later request — with the error, writes the answers and
// then drops its copy; a door that ends drops it with itself. The last copy gone releases
// the signal. Shared ownership is the count: no door needs to be known by number, and one
// that closes meanwhile cannot be waited for in vain.

#include "protocol/error.hpp"

#include <caf/allowed_unsafe_message_type.hpp>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace revkv::actors {

struct NodeContext;

// etcd's ErrGRPCLeaderChanged: Unavailable, `etcdserver: leader changed`.
protocol::WireError leader_changed_error();

// The longest a drain waits for the doors before the member restarts regardless: a client
// that does not read cannot hold the member back longer than this.
inline constexpr std::chrono::milliseconds kDrainBound{1000};

class DrainSignal {
 public:
  using Clock = std::chrono::steady_clock;
  // Called by the last DrainHold going away.
  void release();
  // A further condition of "written" that only its owner can tell (the gRPC server: every
  // finished call handed to the transport; the HTTP/2 door: no call left in it); polled
  // once the holds are gone, with the drain's deadline, which a poll must not overrun by
  // much.
  using Condition = std::function<bool(Clock::time_point deadline)>;
  void also_wait_for(Condition settled);
  // True once every hold is gone and every condition holds; false at `deadline`.
  bool wait_until(Clock::time_point deadline);

 private:
  std::mutex mutex_;
  std::condition_variable released_cv_;
  bool released_ = false;
  std::vector<Condition> conditions_;
};

class DrainHold {
 public:
  explicit DrainHold(std::shared_ptr<DrainSignal> signal) : signal_(std::move(signal)) {}
  ~DrainHold() { signal_->release(); }
  DrainHold(const DrainHold&) = delete;
  DrainHold& operator=(const DrainHold&) = delete;
  DrainSignal& signal() { return *signal_; }

 private:
  std::shared_ptr<DrainSignal> signal_;
};

using DrainHoldPtr = std::shared_ptr<DrainHold>;

// Refuses every new request with leader_changed_error(), has the doors answer what they
// hold with it and write it (at most kDrainBound), then restarts in place
// (actors/fatal.hpp) with `why` in the log. The first caller drains; a second one (the
// backend and the apply path may both notice) waits for the first one's restart.
[[noreturn]] void answer_leader_changed_then_restart(NodeContext& ctx, const std::string& why);

}  // namespace revkv::actors

// Passed between actors of one process only.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(revkv::actors::DrainHoldPtr)
