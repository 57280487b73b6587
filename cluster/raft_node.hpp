#pragma once

// One member of a Raft group, on Debian's libraft 0.15 (canonical's C Raft): its log and
// snapshots on disk in `dir` (raft_uv), its peers over TCP (raft_uv_tcp with TCP_NODELAY:
// nodelay_transport.hpp, or TLS: peer_tls.hpp), committed entries handed to a StateMachine in
// log order. revkvd's cluster mode (apps/revkvd/cluster_member.hpp, docs/CLUSTER.md).
//
// Threading: libraft is single-threaded on a libuv loop. Each RaftNode owns a loop running
// on a thread of its own; every public call may come from any thread and is marshalled
// onto the loop (LoopThread::post); results come back as std::future (or, for propose, to a
// callback on the loop thread, or on the caller's or stop()'s thread when the entry never
// reaches libraft). The StateMachine's
// hooks and the status observer run on the loop thread, one at a time (except the restore
// of the latest local snapshot, which raft_start does in the constructor on the caller's
// thread): they must not block for long (they hold up heartbeats) and must not call back
// into this RaftNode and wait.

#include "cluster/members.hpp"

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace revkv::cluster {

struct PeerTls;  // cluster/peer_tls.hpp

// What the replicated log is applied to. Called one hook at a time: on the thread that
// constructs the RaftNode while the constructor runs (raft_start restores the latest local
// snapshot there, before the loop thread exists), then on the node's loop thread only. It
// must outlive the RaftNode (until stop() returned).
class StateMachine {
 public:
  virtual ~StateMachine() = default;
  // A committed entry, in log order, exactly once per start of the node (after a restart,
  // entries after the last snapshot are applied again: the machine skips what it already
  // has by index). An exception here is fatal (the process aborts): a replica that cannot
  // apply a committed entry must not go on.
  virtual void apply(std::uint64_t index, std::string_view entry) = 0;
  // A small descriptor of the state as of `applied_index` (everything up to it applied).
  // libraft keeps it as the Raft snapshot and compacts the log before it. An exception skips
  // this snapshot (logged; the log grows meanwhile): it is asked again once another
  // `snapshot_threshold` entries were applied.
  virtual std::string snapshot(std::uint64_t applied_index) = 0;
  // Replaces the state with the one `descriptor` (from snapshot()) names, as of
  // `applied_index`: on start from the latest local snapshot (in the RaftNode constructor, on
  // the caller's thread), or when the leader sends one because the log this member needs is
  // compacted away. False refuses it.
  virtual bool restore(std::uint64_t applied_index, std::string_view descriptor) = 0;
};

enum class Role { unavailable, follower, candidate, leader };
const char* role_name(Role role);

// A member of the Raft configuration. Voters count for elections and commits; standbys
// (etcd's learners) receive the log but do not count; spares (a member added but not yet
// assigned a role) receive nothing.
enum class Membership { voter, standby, spare };
const char* membership_name(Membership membership);

struct ServerInfo {
  std::uint64_t id = 0;
  std::string address;
  Membership membership = Membership::voter;
  friend bool operator==(const ServerInfo&, const ServerInfo&) = default;
};

struct NodeStatus {
  std::uint64_t id = 0;
  Role role = Role::unavailable;
  std::uint64_t leader_id = 0;  // 0: no known leader
  std::string leader_address;
  std::uint64_t term = 0;
  std::uint64_t commit_index = 0;
  std::uint64_t last_index = 0;
  std::uint64_t last_applied = 0;
  // The latest configuration this member knows (committed or not); empty for a member that
  // waits to be added (no bootstrap) and has not heard from a leader yet.
  std::vector<ServerInfo> configuration;
};

enum class Errc {
  ok,
  not_leader,      // this member is not the leader (nothing was appended)
  leader_changed,  // the entry was appended but its outcome is unknown: leadership was lost, or
                   // the node stopped, before it committed; it may still commit elsewhere
  shutting_down,   // the node is stopping or stopped and the call never reached the log
  invalid,         // refused as given (an empty entry, an unknown transfer target)
  failed,          // anything else (I/O error, a transfer that did not move leadership)
};
const char* errc_name(Errc code);

struct Outcome {
  Errc code = Errc::ok;
  std::uint64_t index = 0;  // propose/barrier: the committed log index
  std::string message;      // libraft's words when not ok
  bool ok() const { return code == Errc::ok; }
};

struct RaftConfig {
  std::uint64_t id = 0;  // this member's id (members.hpp: member_id(name))
  std::string address;   // this member's HOST:PORT, as in `initial_cluster`
  // Where the peer listener binds; empty: `address`. It differs when something sits between
  // the members (a proxy, NAT): peers dial `address` (libraft's handshake also names it).
  std::string bind_address;
  std::filesystem::path dir;            // libraft's files; created if missing
  std::vector<Member> initial_cluster;  // bootstrap configuration of a pristine dir
  // Joining a running cluster (--initial-cluster-state existing): a pristine `dir` is not
  // bootstrapped; the member starts with an empty configuration and waits for the leader to
  // add it (`initial_cluster` is then ignored).
  bool join = false;
  unsigned election_timeout_ms = 1000;
  unsigned heartbeat_timeout_ms = 100;
  // Snapshot after this many applied entries, keeping `snapshot_trailing` entries of log
  // behind it, so a briefly lagging follower catches up from the log, not a snapshot.
  unsigned snapshot_threshold = 8192;
  // 4096, not libraft's 1024 (docs/CLUSTER.md "Snapshots and log compaction"): a new member
  // still catching up from the log is not sent a snapshot for lagging a little.
  unsigned snapshot_trailing = 4096;
  // How long the leader waits for a member to install a snapshot before sending it again.
  // libraft's default is 30 s; a member that is busy taking its own snapshot refuses one
  // (RAFT_BUSY) and stays behind until the resend. revkv's snapshots are small descriptors
  // (the bulk moves out of band), so a few seconds is ample.
  unsigned install_snapshot_timeout_ms = 5000;
  unsigned connect_retry_ms = 200;
  // Size of libraft's log segment files (its own default is 8 MiB), preallocated a few at a
  // time. Each time the log moves to a new segment, libraft's loop thread calls io_destroy()
  // on the old segment's kernel AIO context, which waits for an RCU grace period: every
  // append and commit stopped for ~30 ms at each segment boundary, every 1-2 s under a
  // 3-member put load with 8 MiB segments (docs/CLUSTER.md "Log segments"). 64 MiB, about
  // etcd's 64 MB WAL segments, makes that eight times rarer. A multiple of 4096.
  std::size_t segment_bytes = 64 << 20;
  // Set: every Raft connection to and from the other members is TLS, verified both ways
  // (cluster/peer_tls.hpp); unset: libraft's TCP transport with TCP_NODELAY
  // (cluster/nodelay_transport.hpp).
  std::shared_ptr<const PeerTls> peer_tls;
  // Called on the loop thread when role, known leader or term change (checked every
  // heartbeat interval, after a transfer, and before status() answers, so it has heard of
  // any change a status() shows). An exception from it is logged and dropped.
  std::function<void(const NodeStatus&)> on_status_change;
  // Where a stall of replication is reported (cluster/progress_watch.hpp), on the loop
  // thread; unset: stderr.
  std::function<void(const std::string&)> on_stall;
};

class RaftNode {
 public:
  // Opens (or bootstraps, if `dir` holds no Raft state) and starts the member. Throws
  // std::runtime_error with libraft's message when it cannot (a busy port, a corrupt log).
  RaftNode(RaftConfig config, StateMachine& machine);
  // stop().
  ~RaftNode();
  RaftNode(const RaftNode&) = delete;
  RaftNode& operator=(const RaftNode&) = delete;

  // Appends `entry` (opaque bytes, not empty) if this member leads; the future holds the
  // entry's index once it committed and was applied here, or why not.
  std::future<Outcome> propose(std::string entry);
  // The same without waiting: `then` gets the outcome, on the Raft loop thread (or on this
  // one, for an entry refused before it reached the loop, or on the thread of stop() for one
  // still pending then). It must not block.
  void propose(std::string entry, std::function<void(Outcome)> then);
  // Commits an empty entry: once it is applied, every entry before it is applied here and
  // this member was leader when it committed. Leader only.
  std::future<Outcome> barrier();
  // Hands leadership to `target` (0: a voter libraft picks). ok once it moved there.
  std::future<Outcome> transfer(std::uint64_t target);
  // Configuration changes (leader only; libraft allows one at a time and refuses another
  // while one is uncommitted: `failed` with libraft's words). ok once the new configuration
  // committed. add: a spare member `id` at `address`; assign: give it a role (a voter is
  // first caught up with the log by libraft); remove: take it out of the configuration.
  std::future<Outcome> add(std::uint64_t id, std::string address);
  std::future<Outcome> assign(std::uint64_t id, Membership membership);
  std::future<Outcome> remove(std::uint64_t id);
  // Leader only: the highest index member `id` has reported as stored (0: not leading, not
  // a member, or nothing yet).
  std::future<std::uint64_t> match_index(std::uint64_t id);
  // The member's current state, read on the loop thread. Unavailable once stopped.
  std::future<NodeStatus> status();

  std::uint64_t id() const;

  // Closes the member (raft_close, then the I/O and the loop). Waiting proposals and
  // barriers, already in the log, complete with leader_changed (outcome unknown: another
  // member may still commit them); a waiting transfer and every call not yet in the log, or
  // made later, complete with shutting_down. Idempotent; returns once the loop thread ended.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace revkv::cluster
