#pragma once

// In-process Raft groups for the cluster tests: each member is a RaftNode with its own loop
// thread, directory and free loopback port, applying to a RecordingMachine that keeps every
// entry, a running digest of them, and the snapshots it was restored from.

#include "cluster/raft_node.hpp"
#include "tests/monitoring/http_client.hpp"  // free_loopback_port
#include "tests/temp_dir.hpp"

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace revkv::testing {

using Clock = std::chrono::steady_clock;

// The state machine of the tests. Its whole state (last applied index, entry count, digest)
// fits in the snapshot descriptor, so a member restored from a snapshot has exactly the
// state of the member that took it, and digests compare replicas entry for entry.
class RecordingMachine : public cluster::StateMachine {
 public:
  struct State {
    std::uint64_t applied = 0;  // index of the last applied entry
    std::uint64_t count = 0;    // entries applied since the start of the log
    std::uint64_t digest = 0;   // over (index, bytes) of every entry in order
    bool operator==(const State&) const = default;
  };

  void apply(std::uint64_t index, std::string_view entry) override;
  std::string snapshot(std::uint64_t applied_index) override;
  bool restore(std::uint64_t applied_index, std::string_view descriptor) override;

  State state() const;
  // Entries applied by this instance since its last restore, in order.
  std::vector<std::pair<std::uint64_t, std::string>> entries() const;
  std::vector<std::uint64_t> restores() const;
  // An apply with an index not above the last one (a replay or a reordering).
  std::uint64_t order_violations() const;
  // Waits until an entry with index >= `index` is applied; false at the deadline.
  bool wait_applied(std::uint64_t index, Clock::time_point deadline) const;
  // While set, snapshot() throws (a machine that cannot write its checkpoint).
  void fail_snapshots(bool fail);
  // snapshot() calls, and those of them that returned a descriptor.
  std::uint64_t snapshot_calls() const;
  std::uint64_t snapshots_taken() const;

 private:
  mutable std::mutex mutex_;
  mutable std::condition_variable applied_cv_;
  State state_;
  std::vector<std::pair<std::uint64_t, std::string>> entries_;
  std::vector<std::uint64_t> restores_;
  std::uint64_t order_violations_ = 0;
  bool fail_snapshots_ = false;
  std::uint64_t snapshot_calls_ = 0;
  std::uint64_t snapshots_taken_ = 0;
};

// Election and heartbeat timeouts of the test groups, and snapshot settings small enough
// that a few hundred entries compact the log.
struct GroupTuning {
  unsigned election_timeout_ms = 500;
  unsigned heartbeat_timeout_ms = 50;
  unsigned snapshot_threshold = 64;
  unsigned snapshot_trailing = 16;
  unsigned install_snapshot_timeout_ms = 1000;
  // libraft's own default, not revkvd's 64 MiB: each member preallocates a few segments, and
  // these groups write little.
  std::size_t segment_bytes = 8 << 20;
  // The status observers throw after counting the change (an embedder's faulty observer).
  bool throwing_observer = false;
};

class RaftGroup {
 public:
  explicit RaftGroup(std::size_t size, GroupTuning tuning = {});
  ~RaftGroup();

  std::size_t size() const { return members_.size(); }
  // Starts member i (again, on its directory and port, with a fresh state machine).
  void start(std::size_t i);
  void stop(std::size_t i);
  bool running(std::size_t i) const { return members_[i].node != nullptr; }
  cluster::RaftNode& node(std::size_t i) { return *members_[i].node; }
  RecordingMachine& machine(std::size_t i) { return *members_[i].machine; }
  const cluster::Member& member(std::size_t i) const { return members_[i].member; }
  // Member i's libraft directory (its segments, metadata and snapshots).
  const std::string& dir(std::size_t i) const { return members_[i].dir; }
  std::optional<std::size_t> index_of(std::uint64_t id) const;

  // Waits until every running member reports the same leader, a running member that says
  // it is leader. The leader's position, or nullopt at the deadline.
  std::optional<std::size_t> wait_leader(Clock::time_point deadline);

  // Leader changes seen by member i's status observer (role or leader id changes).
  std::uint64_t status_changes(std::size_t i) const;

 private:
  struct Slot {
    cluster::Member member;
    std::string dir;
    std::unique_ptr<RecordingMachine> machine;
    std::unique_ptr<cluster::RaftNode> node;
  };
  TempDir tmp_;
  GroupTuning tuning_;
  std::vector<cluster::Member> initial_;
  std::vector<Slot> members_;
  mutable std::mutex observed_mutex_;
  std::vector<std::uint64_t> status_changes_;
};

}  // namespace revkv::testing
