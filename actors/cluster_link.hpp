#pragma once

// What the node's actors know of the Raft group this node is a member of (cluster mode,
// docs/CLUSTER.md); absent (NodeContext::cluster null) on a single node, whose paths stay as
// they are. revkvd owns the Raft member (apps/revkvd/replica.hpp) and fills this in: the
// actors never see libraft, only a blocking `propose` and the leadership flags.

#include "actors/leadership_drain.hpp"
#include "actors/member_attributes.hpp"
#include "actors/peer_round_trips.hpp"
#include "actors/progress_waiters.hpp"
#include "protocol/error.hpp"

#include <caf/actor.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace revkv::actors {

struct ClusterLink {
  struct Proposed {
    uint64_t index = 0;                // the entry's log index, once applied here
    std::optional<std::string> error;  // why not ("etcdserver: not leader", ...)
  };
  // Appends one entry (a commit group, actors/replicated_entry.hpp, or a state change,
  // actors/state_change.hpp) to the Raft log and blocks until it is committed and applied on
  // this member. Called by the backend actor, the lessor and the maintenance actor on their
  // own (detached) threads, and by the auth store on the thread of the request that changes
  // it (actors/auth_replication.hpp); never on the Raft loop thread (it would wait for
  // itself).
  std::function<Proposed(std::string)> propose;
  // The same without blocking: `done` gets the outcome on the Raft loop thread (or on the
  // caller's, for an entry refused at once) and must only hand it on (the lessor: a message
  // to itself), never wait.
  std::function<void(std::string, std::function<void(Proposed)> done)> propose_then;
  // Commits a barrier and calls `done(true)` once it was applied here while this member still
  // led (false otherwise), from another thread; one at a time (actors/read_index_actor.hpp).
  std::function<void(std::function<void(bool)> done)> barrier;
  // The actor that batches linearizable reads' confirmations; null: reads are not confirmed.
  caf::actor read_index;

  // The leader's read lease (docs/CLUSTER.md "Linearizable reads"): until this steady-clock
  // time (nanoseconds since the clock's epoch) no other member can have been elected, so a
  // linearizable read is answered at W without a barrier of its own. Set by the member after
  // a barrier it started at T commits (T plus 80 % of the election timeout: a majority heard
  // from this leader after T, and libraft's followers refuse votes for an election timeout
  // after hearing from their leader); 0 once leadership is lost or a transfer starts.
  std::atomic<int64_t> read_lease_until{0};
  // Asks for a barrier that renews the lease; no-op if one is already asked for. Set by the
  // member; empty on members that keep no lease.
  std::function<void()> renew_read_lease;

  static int64_t steady_now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
  // Whether a linearizable read arriving now may be answered at W at once; asks for a
  // renewal when less than half the lease is left, so a steady read load never waits.
  bool read_lease_covers_now() {
    if (!leader.load()) return false;
    int64_t until = read_lease_until.load();
    int64_t now = steady_now_ns();
    if (now >= until) return false;
    if (until - now < read_lease_ns / 2 && renew_read_lease) renew_read_lease();
    return true;
  }
  int64_t read_lease_ns = 0;  // the lease's length; 0: no lease

  // Forwarded writes (docs/CLUSTER.md "Forwarding"). A follower learns that an entry
  // committed from the leader's next message to it, which, with nothing more to replicate,
  // is its next heartbeat. So the leader, once it answered a write another member forwarded,
  // asks for a barrier started from now (no-op if one is asked for and not yet started): its
  // append carries the commit index to every follower at once. Set by the member; empty on
  // members that keep no barriers.
  std::function<void()> announce_commit;
  // The same for a linearizable read another member forwarded, which that member answers
  // once it applied the read's revision: announced only if no announcement was asked for at
  // this revision or a later one already, so a read load without writes asks for none.
  void announce_commit_of(int64_t revision) { announce_once(announced_revision_, revision); }
  // The same for a linearizable read another member forwarded that this member refused as
  // compacted (at compact revision `compacted`): that member waits for its own compaction,
  // whose entry may follow every revision announced; announced once per compaction.
  void announce_compaction(int64_t compacted) { announce_once(announced_compaction_, compacted); }
  // The follower that forwarded a change answers it once it applied the change itself
  // (actors/applied_here.hpp), as etcd's member answers its own proposal once applied; a
  // member that does not get there within this long (cut off from the log, catching up)
  // answers it then anyway: the change is committed, only this member lags.
  std::chrono::milliseconds forwarded_apply_wait{1000};
  // How long a follower's forwarder gives the leader for a Cluster.* call or a compaction
  // (apps/revkvd/forwarder.cpp): a physical compaction is answered only once done.
  static constexpr std::chrono::milliseconds kLeaderCallTimeout{40000};
  // The same for a physical compaction, which also waits for this member's own physical
  // job: as long as the forwarder gives the leader's.
  std::chrono::milliseconds forwarded_physical_compaction_wait{kLeaderCallTimeout};
  // Hands leadership to the member `target` (Maintenance.MoveLeader) and calls `done` from
  // another thread once it moved there (nullopt) or why not, in etcd's words. Leader only;
  // one transfer runs at a time, later ones wait their turn.
  std::function<void(uint64_t target, std::function<void(std::optional<std::string>)> done)>
      transfer;

  // The members as the Raft configuration names them (docs/CLUSTER.md "Membership"): the
  // configuration is replicated by libraft itself, so every member that applied the same
  // changes lists the same ids, peer URLs and learners. Names and client URLs come from the
  // attributes each member publishes through the log (MemberAttributes), else, for a member
  // of the bootstrap configuration, from --initial-cluster (whose ids derive from the names,
  // so every member agrees on them); an added member that has not published has no name,
  // as etcd lists an unstarted member.
  struct Member {
    uint64_t id = 0;
    std::string name;
    std::string peer_url;  // http://HOST:PORT
    bool learner = false;  // libraft's standby (or a spare not yet given a role)
  };
  std::vector<Member> members() const {
    std::lock_guard lock(attributes_mutex_);
    std::vector<Member> out = members_;
    for (auto& m : out) {
      auto it = attributes_.find(m.id);
      if (it != attributes_.end() && !it->second.name.empty()) {
        m.name = it->second.name;
      } else if (auto named = initial_names_.find(m.id); named != initial_names_.end()) {
        m.name = named->second;
      }
    }
    return out;
  }
  bool is_member(uint64_t id) const {
    std::lock_guard lock(attributes_mutex_);
    return listed(id);
  }
  // The configuration (names left empty: members() fills them in). A pending removal whose
  // member has left the configuration is finished.
  void set_members(std::vector<Member> members) {
    std::lock_guard lock(attributes_mutex_);
    members_ = std::move(members);
    std::erase_if(pending_removals_, [this](uint64_t id) { return !listed(id); });
  }
  // A member whose `removal` entry this member applied while the configuration still listed
  // it (docs/CLUSTER.md "Membership"): the removed member stops on applying that entry, so
  // whichever member leads takes it out of the configuration if the leader that proposed
  // the removal could not (it lost leadership, or libraft refused the change).
  void note_removal(uint64_t id) {
    std::lock_guard lock(attributes_mutex_);
    if (listed(id) && std::find(pending_removals_.begin(), pending_removals_.end(), id) ==
                          pending_removals_.end())
      pending_removals_.push_back(id);
  }
  std::vector<uint64_t> pending_removals() const {
    std::lock_guard lock(attributes_mutex_);
    return pending_removals_;
  }
  // The names of --initial-cluster's members whose ids derive from their names.
  void set_initial_names(std::map<uint64_t, std::string> names) {
    std::lock_guard lock(attributes_mutex_);
    initial_names_ = std::move(names);
  }

  // A membership change (Cluster.MemberAdd / MemberRemove / MemberPromote), run by the
  // leader one at a time; `done` is called from another thread with the outcome.
  struct MemberChange {
    enum class Kind { add, remove, promote };
    Kind kind = Kind::add;
    uint64_t id = 0;           // remove, promote
    std::string peer_address;  // add: HOST:PORT
    bool learner = false;      // add
  };
  struct MemberChangeResult {
    int64_t code = 0;  // gRPC status code; 0: done
    std::string message;
    Member member;                // add: the new member
    std::vector<Member> members;  // the configuration after the change
  };
  std::function<void(MemberChange, std::function<void(MemberChangeResult)>)> change_members;
  // Called (on the Raft loop thread) when this member applies its own removal: the process
  // stops serving. Set by revkvd before the Raft member starts.
  std::function<void()> on_removed;

  // The members' client addresses as published through the log (a leader publishes its own:
  // actors/member_attributes.hpp); read by the forwarder and MemberList.
  std::optional<MemberAttributes> attributes_of(uint64_t id) const {
    std::lock_guard lock(attributes_mutex_);
    auto it = attributes_.find(id);
    if (it == attributes_.end()) return std::nullopt;
    return it->second;
  }
  void set_attributes(MemberAttributes attributes) {
    std::lock_guard lock(attributes_mutex_);
    attributes_[attributes.id] = std::move(attributes);
  }
  // The actor that forwards to the leader what only the leader serves (actors/forwarding.hpp);
  // null: such requests are refused on a follower.
  caf::actor forwarder;
  // Sends one Cluster.* call (the MessagePack door's method name and encoded body, with the
  // caller's token) to the leader's MessagePack door and calls `done`, from another thread,
  // with the leader's encoded result or its error (actors/cluster_api.hpp). Set by revkvd;
  // empty: a follower answers membership changes "etcdserver: not leader".
  using ForwardedCall = std::variant<std::string, protocol::WireError>;
  std::function<void(std::string method, std::string body, std::optional<std::string> token,
                     std::function<void(ForwardedCall)> done)>
      forward_call;

  // This member and the group as the Raft member last saw them.
  uint64_t member_id = 0;
  // Random per process start: tells this process's own entries (already in its shards'
  // indexes when they are applied) from everyone else's, including its own earlier life's.
  uint64_t incarnation = 0;
  std::atomic<bool> leader{false};
  std::atomic<uint64_t> leader_id{0};  // 0: no known leader
  std::atomic<uint64_t> term{0};
  // Moves whenever this member starts or stops leading a term (before `leader` is cleared, and
  // before it is set for the new term): an answer computed under one value may go out as a
  // read only if the value has not moved since (actors/request_path.hpp).
  std::atomic<uint64_t> leadership_epoch{0};
  std::atomic<uint64_t> applied_index{0};
  // Sets applied_index (the replica, after each entry) and wakes wait_applied's callers.
  void set_applied(uint64_t index) {
    applied_index.store(index);
    applied_waiters_.moved();
  }
  // Blocks until this member applied `index` or `timeout` passed; whether it did. For a
  // follower that forwarded an Authenticate: the token it relays names its grant's index.
  bool wait_applied(uint64_t index, std::chrono::milliseconds timeout) {
    return applied_waiters_.wait_until([&] { return applied_index.load() >= index; },
                                       std::chrono::steady_clock::now() + timeout);
  }
  // The backend actor calls this after each move of W (NodeContext::watermark, stored
  // first) and wakes wait_for_watermark's callers.
  void watermark_moved() { watermark_waiters_.moved(); }
  // Blocks until `watermark` reaches `revision` (true) or `deadline` passes (false). A new
  // leader waits here before it serves (apps/revkvd/cluster_member.hpp): the entries of its
  // predecessors are applied, but W moves when the backend actor hears of them.
  bool wait_for_watermark(const std::atomic<int64_t>& watermark, int64_t revision,
                          std::chrono::steady_clock::time_point deadline) {
    return watermark_waiters_.wait_until([&] { return watermark.load() >= revision; }, deadline);
  }
  // Callers inside wait_for_watermark now (tests: a waiter is registered before W moves).
  int watermark_waiters() const { return watermark_waiters_.waiting(); }
  std::atomic<bool> stopping{false};  // revkvd is shutting the member down
  // revkvd began to stop (its doors close next): the forwarder sends no read again.
  std::atomic<bool> closing{false};
  // The log index of the last compaction entry this member proposed that its apply skipped
  // (one at or below a compaction already in the log): the proposer, whose propose() returns
  // once that entry is applied, answers it `compacted` (actors/maintenance_actor.cpp). One
  // compaction is proposed at a time, so the proposer reads its own entry's.
  std::atomic<uint64_t> own_compaction_skipped_at{0};
  // The leader is removing itself (member remove): it applies its own `removal` entry
  // without stopping, then takes itself out of the configuration (docs/CLUSTER.md
  // "Membership").
  std::atomic<bool> removing_self{false};
  // This member applied its own removal: it stops, and a proposal of its own that fails from
  // now on ends the process (actors::exit_removed) instead of restarting it in place.
  std::atomic<bool> removed{false};

  // etcd's cluster metrics (etcd_server_*).
  std::atomic<int64_t> leader_changes{0};
  std::atomic<int64_t> proposals_committed{0};
  std::atomic<int64_t> proposals_applied{0};
  std::atomic<int64_t> proposals_pending{0};
  std::atomic<int64_t> proposals_failed{0};
  // Requests a follower forwarded to the leader, and those of them it could not deliver
  // (revkv_cluster_forwarded_requests_total, revkv_cluster_forward_failures_total).
  std::atomic<int64_t> forwarded{0};
  std::atomic<int64_t> forward_failures{0};
  // Forwarded requests this member answered before it had applied what the leader's answer
  // shows, because its wait for that ran out (forwarded_apply_wait): how often it lagged
  // (revkv_cluster_forwarded_apply_timeouts_total).
  std::atomic<int64_t> forwarded_apply_timeouts{0};
  // etcd_network_peer_round_trip_time_seconds, by peer id (apps/revkvd/peer_prober.hpp).
  PeerRoundTrips peer_round_trips;

  bool has_leader() const { return leader_id.load() != 0; }

  // Leadership lost with writes in flight (actors/leadership_drain.hpp): tells every door to
  // answer what it holds with `etcdserver: leader changed`, giving each a copy of `hold`.
  // Set by revkvd once its doors serve, cleared before they stop; unset, no door is told.
  using DoorDrain = std::function<void(const DrainHoldPtr& hold)>;
  void set_door_drain(DoorDrain drain) {
    std::lock_guard lock(drain_mutex_);
    door_drain_ = std::move(drain);
  }
  void drain_doors(const DrainHoldPtr& hold) {
    std::lock_guard lock(drain_mutex_);
    if (door_drain_) door_drain_(hold);
  }

 private:
  std::mutex drain_mutex_;
  DoorDrain door_drain_;
  ProgressWaiters applied_waiters_;
  ProgressWaiters watermark_waiters_;
  // Asks for announce_commit once `value` passes `last` (raised to it).
  void announce_once(std::atomic<int64_t>& last, int64_t value) {
    if (!announce_commit) return;  // nothing to ask: nothing counts as announced
    int64_t announced = last.load();
    while (announced < value) {
      if (last.compare_exchange_weak(announced, value)) {
        announce_commit();
        return;
      }
    }
  }

  std::atomic<int64_t> announced_revision_{0};    // announce_commit_of's last
  std::atomic<int64_t> announced_compaction_{0};  // announce_compaction's last
  bool listed(uint64_t id) const {                // under attributes_mutex_
    return std::any_of(members_.begin(), members_.end(),
                       [id](const Member& m) { return m.id == id; });
  }

  // Also guards members_, pending_removals_ and initial_names_.
  mutable std::mutex attributes_mutex_;
  std::map<uint64_t, MemberAttributes> attributes_;
  std::vector<Member> members_;
  std::vector<uint64_t> pending_removals_;
  std::map<uint64_t, std::string> initial_names_;
};

}  // namespace revkv::actors
