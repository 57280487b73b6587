#pragma once

// Says in the member's log when Raft replication stops moving where nothing else would say
// it (docs/CLUSTER.md "Stalled replication"): on a leader, a member whose match index stays
// behind the log for kStallAfter, with libraft's own view of that member (its progress
// state, next and match index, last snapshot sent, whether it was heard from); and on any
// member, an applied index that stays below the commit index as long. libraft logs neither.
// One line when a stall is first seen, again every kRepeatEvery while it lasts, and one when
// it ends. revkv's Raft loop looks at every status tick, on its thread.

#include "cluster/libraft.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

namespace revkv::cluster {

// What the watch looks at, read from libraft's state (replication_view).
struct ReplicationView {
  struct Peer {
    std::uint64_t id = 0;
    std::string address;
    std::string state;  // libraft's progress state: probe, pipeline, snapshot
    std::uint64_t next = 0, match = 0, snapshot = 0;
    bool heard_recently = false;
  };
  std::uint64_t term = 0, commit = 0, applied = 0, last = 0;
  bool leader = false;
  std::vector<Peer> peers;  // while leading: every member but this one and spares
};

ReplicationView replication_view(const raft& node);

class ProgressWatch {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::chrono::seconds kStallAfter{10};
  static constexpr std::chrono::seconds kRepeatEvery{60};

  // `say`: where a line goes (revkvd: its log).
  explicit ProgressWatch(std::function<void(const std::string&)> say) : say_(std::move(say)) {}

  void look(const ReplicationView& view, Clock::time_point now);

 private:
  struct Watched {
    bool seen = false;  // looked at before: `since` means something
    std::uint64_t value = 0;
    Clock::time_point since{};
    bool reported = false;
    Clock::time_point reported_at{};
  };
  enum class Seen { moving, stalled, report, recovered };
  // `w` now at `value`, behind what it follows or not; updated.
  static Seen track(Watched& w, std::uint64_t value, bool behind, Clock::time_point now);

  std::function<void(const std::string&)> say_;
  Watched applied_;
  std::unordered_map<std::uint64_t, Watched> matches_;  // while leading, by member id
};

}  // namespace revkv::cluster
