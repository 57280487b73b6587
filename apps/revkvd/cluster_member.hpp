#pragma once

// revkvd as a member of a Raft group (docs/CLUSTER.md): owns the libraft member
// (cluster::RaftNode) over the node's store, the replica it applies to, and the
// NodeContext's ClusterLink the actors read. A member that wins an election serves writes
// only once a barrier in its term was applied here, so that every entry of earlier terms is
// in its store and indexes before it takes the next revision.

#include "actors/member_attributes.hpp"
#include "actors/node.hpp"
#include "apps/revkvd/catchup_fetcher.hpp"
#include "apps/revkvd/catchup_source.hpp"
#include "apps/revkvd/follower_publisher.hpp"
#include "apps/revkvd/options.hpp"
#include "apps/revkvd/peer_prober.hpp"
#include "apps/revkvd/replica.hpp"
#include "cluster/raft_node.hpp"
#include "tls/server_credentials.hpp"

#include <caf/fwd.hpp>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace revkv::apps {

// The link revkvd hands the node before it starts (NodeConfig::cluster): this member's id
// (from --name), a fresh incarnation and the initial members; no leader yet.
std::shared_ptr<actors::ClusterLink> make_cluster_link(const DaemonOptions& options);

class ClusterMember {
 public:
  // Starts the member over `node` (started with make_cluster_link's link, and outliving
  // this): its Raft files in DATA_DIR/raft. Throws std::runtime_error with the reason when it
  // cannot. With `peer_credentials` (loaded from options.peer_tls) every Raft connection is
  // TLS (cluster/peer_tls.hpp), and so is the catch-up port. `restart` is called (from any
  // thread) once a peer's checkpoint is staged: the process must stop and start again, which
  // installs it (docs/CLUSTER.md "Catch-up from a peer's checkpoint"). `removed` is called
  // (from the Raft loop thread, once) when this member sees itself removed from the
  // configuration: the process must stop serving (docs/CLUSTER.md "Membership").
  ClusterMember(
      caf::actor_system& sys, actors::Node& node, const DaemonOptions& options,
      std::shared_ptr<tls::ServerCredentials> peer_credentials = nullptr,
      std::function<void()> restart = [] {}, std::function<void()> removed = [] {});
  ~ClusterMember();
  ClusterMember(const ClusterMember&) = delete;
  ClusterMember& operator=(const ClusterMember&) = delete;

  // Once the client doors listen: where this member serves its clients (its catch-up
  // address is added here). It publishes them through the log whenever they differ from what
  // the log holds (docs/CLUSTER.md "Forwarding", "Membership"): as the ready leader it
  // proposes them itself, as a follower it hands them to the leader's catch-up port
  // (FollowerPublisher), so every member is listed and the followers can forward to it.
  void serving(actors::MemberAttributes own);

  // Before the node stops: proposals in flight end (the backend actor drops them: nothing
  // is answered any more), the loop thread ends. Idempotent.
  void stop();
  // As the shutdown begins: a checkpoint fetch in progress (on libraft's loop thread, which
  // stop() waits for) is cut short, and none restarts the process any more.
  void cancel_catchup() { fetcher_->cancel(); }

 private:
  void observe(const cluster::NodeStatus& status);  // the loop thread
  // The gate thread: the barrier a new leader waits for before it serves, those the
  // read-index actor asks for, and the publication of this member's client addresses.
  void gate_loop();
  // Runs one barrier for the gate (unlocks `lock` meanwhile); on success, while this member
  // still leads in `term` and no transfer started, extends the read lease from the barrier's
  // start.
  cluster::Outcome lease_barrier(std::unique_lock<std::mutex>& lock, std::uint64_t term);
  // On the gate thread, locked, once the barrier of `term` was applied: waits until W covers
  // every revision applied here (the backend actor moves W when it hears of an applied entry,
  // after the Raft loop went on). False if leadership of `term` ended or the member stops.
  bool await_applied_watermark(std::unique_lock<std::mutex>& lock, std::uint64_t term);
  // The transfer thread: leadership transfers (MoveLeader), one at a time, so a transfer's
  // wait (up to an election timeout) holds neither a client thread nor the read barriers.
  void transfer_loop();
  // On the transfer thread, unlocked: one membership change (docs/CLUSTER.md "Membership").
  actors::ClusterLink::MemberChangeResult run_change(const actors::ClusterLink::MemberChange& c);
  // On the transfer thread, unlocked: tries to promote the added voters caught up by now.
  void run_promotions();
  // On the transfer thread, unlocked, on the leader: takes the members whose `removal` entry
  // was applied but who are still in the configuration out of it (a removal whose
  // configuration change failed; docs/CLUSTER.md "Membership").
  void finish_removals();
  // Tells the member `id` of its removal entry: a barrier, then a bounded wait until the
  // member stored it (its append carries a commit index past the removal). Whether the
  // barrier committed (else the outcome says why not).
  cluster::Outcome tell_removed(std::uint64_t id);
  // On the gate thread, unlocked: proposes this member's attributes unless the log has them.
  void publish(const actors::MemberAttributes& own);
  // On the catch-up port's request thread: a follower's publish request (its attributes,
  // the peer certificate that came with them); "" once the log holds them, else the refusal.
  std::string take_publish(std::string_view payload, X509* certificate);

  std::shared_ptr<actors::ClusterLink> link_;
  actors::NodeContextPtr ctx_;
  // Declared before the replica, which uses them, and the Raft member, which calls it.
  std::unique_ptr<CheckpointFetcher> fetcher_;
  std::unique_ptr<CheckpointSource> source_;
  std::unique_ptr<FollowerPublisher> publisher_;
  std::unique_ptr<Replica> replica_;
  std::unique_ptr<cluster::RaftNode> raft_;
  // etcd_network_peer_round_trip_time_seconds; started once the member runs.
  std::unique_ptr<PeerProber> prober_;

  // The leadership gate: the term whose barrier is wanted (0: none), set by observe().
  std::mutex mutex_;
  std::condition_variable wake_;
  std::uint64_t wanted_term_ = 0;
  std::uint64_t leading_term_ = 0;  // the term this member leads in as last observed; 0: none
  std::vector<std::function<void(bool)>> read_barriers_;  // waiting for the next barrier
  struct Transfer {
    std::uint64_t target = 0;
    std::function<void(std::optional<std::string>)> done;
  };
  std::vector<Transfer> transfers_;  // waiting for the transfer thread
  struct Change {
    actors::ClusterLink::MemberChange change;
    std::function<void(actors::ClusterLink::MemberChangeResult)> done;
  };
  std::vector<Change> changes_;  // membership changes, also run by the transfer thread
  // Added voters still standbys: promoted by the transfer thread once caught up.
  std::vector<std::uint64_t> promotions_;
  bool removals_wanted_ = false;  // a new leadership: finish the removals left pending
  // REVKV_TEST_FAIL_REMOVAL (tests only): the next removal fails after its `removal` entry
  // committed, as if leadership was lost before the configuration change.
  std::atomic<bool> fail_next_removal_{false};
  bool was_member_ = false;                     // this member has seen itself in the configuration
  bool removed_ = false;                        // ... and then out of it
  std::atomic<bool> removal_announced_{false};  // on_removed_ called
  std::function<void()> on_removed_;
  // A barrier for its commit alone is asked for and not yet started (a read lease renewal,
  // a commit announced to the followers: actors/cluster_link.hpp). The read lease: a transfer
  // runs (no lease meanwhile); how many transfers have started (a barrier that began before
  // one does not renew the lease).
  std::atomic<bool> barrier_asked_{false};
  bool transferring_ = false;
  std::uint64_t transfers_started_ = 0;
  bool peer_tls_ = false;                        // the catch-up port requires certificates
  std::optional<actors::MemberAttributes> own_;  // set by serving()
  bool publish_wanted_ = false;  // once per leadership, and when serving() is called
  bool quit_ = false;
  bool raft_ready_ = false;
  std::thread gate_;
  std::thread transferrer_;
};

}  // namespace revkv::apps
