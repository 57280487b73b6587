#pragma once

// The one request path behind every door. A door (the MessagePack-RPC connection, the
// in-process actor harness, etcd's gRPC API) turns bytes into typed Requests and typed
// Answers back into bytes; everything in between lives here, once:
//
//   - static validation, the space quota and the NOSPACE alarm,
//   - the ordering rules of one connection (below),
//   - routing (actors/routing.hpp) to a shard, the coordinator, the maintenance actor or
//     the lessor; Range fan-out to the shards and the merge of their parts,
//   - holding each write's answer until the commit watermark W reaches its revision,
//   - the watch-stream protocol (ids, creates, cancels, progress, fragmentation, parking a
//     watcher whose client does not read),
//   - snapshot streaming (chunks read from the snapshot's checkpoint only while the door
//     has room: actors/snapshot_source.hpp; at most NodeOptions::max_snapshots at once,
//     a stream that makes no progress for snapshot_idle_timeout is dropped),
//   - request metrics, and failing every waiting request when the node has failed.
//
// A RequestPath lives inside one actor of its door (one per connection or stream) and
// sends its requests as that actor, so the replies, the backend's durability notices and
// the watch hub's messages come back to it: the actor's behavior must include handlers().
//
// Ordering of one connection: reads run concurrently with each other; a read waits until
// every earlier write is answered (so it sees them); a write waits until every earlier
// read is answered and every earlier write is applied — not durable — so a pipelining
// client's writes take increasing revisions and share group commits. Writes to the same
// shard (or to the coordinator) need not even wait to be applied: that actor's mailbox
// keeps their order. Write answers leave in arrival order.

#include "actors/applied_here.hpp"
#include "actors/node_context.hpp"
#include "actors/routes.hpp"
#include "actors/watch_stream.hpp"
#include "auth/caller.hpp"
#include "protocol/error.hpp"
#include "protocol/messages.hpp"
#include "protocol/method.hpp"
#include "storage/error.hpp"
#include "storage/types.hpp"

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/fwd.hpp>
#include <caf/message_handler.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <variant>

namespace revkv::actors {

using Request =
    std::variant<storage::RangeRequest, storage::PutRequest, storage::DeleteRangeRequest,
                 storage::TxnRequest, protocol::CompactionRequest, protocol::HashKVRequest,
                 protocol::StatusRequest, protocol::DefragmentRequest, protocol::AlarmRequest,
                 protocol::HashRequest, protocol::SnapshotRequest, protocol::WatchRequest,
                 protocol::LeaseGrantRequest, protocol::LeaseRevokeRequest,
                 protocol::LeaseKeepAliveRequest, protocol::LeaseTimeToLiveRequest,
                 protocol::LeaseLeasesRequest>;

// etcd answers nothing (a cancel of an unknown watch id, a progress request it drops); the
// MessagePack door writes an empty map then.
struct NoAnswer {
  friend bool operator==(const NoAnswer&, const NoAnswer&) = default;
};

using Response =
    std::variant<NoAnswer, storage::RangeResponse, storage::PutResponse,
                 storage::DeleteRangeResponse, storage::TxnResponse, storage::CompactResponse,
                 protocol::HashKVResponse, protocol::StatusResponse, protocol::DefragmentResponse,
                 protocol::AlarmResponse, protocol::SnapshotResponse, protocol::WatchResponse,
                 protocol::LeaseGrantResponse, protocol::LeaseRevokeResponse,
                 protocol::LeaseKeepAliveResponse, protocol::LeaseTimeToLiveResponse,
                 protocol::LeaseLeasesResponse, protocol::HashResponse>;

// A response; an engine refusal (its etcd error); or a failure of the node itself
// (Unavailable, internal), which has no engine error.
using Answer = std::variant<Response, storage::Error, protocol::WireError>;

// The error a door writes for an answer that is not a response.
protocol::WireError wire_error(const Answer& answer);
// code 14 (Unavailable): the node cannot serve, e.g. a core actor died.
protocol::WireError unavailable(std::string_view why);

protocol::Method method_of(const Request& request);
// Whether the method counts as a write in the ordering rules (actors/methods.hpp).
bool is_write(protocol::Method method);

// What a door does with the path's output.
class DoorSink {
 public:
  virtual ~DoorSink() = default;
  // The one answer to request `id`.
  virtual void answer(uint64_t id, protocol::Method method, Answer answer) = 0;
  // A watch response that answers no request: events, progress notifications, a
  // cancellation by compaction (watch_id set, already fragmented).
  virtual void watch_response(protocol::WatchResponse response) = 0;
  // One chunk of the snapshot that request `id` asked for; its answer follows the last.
  virtual void snapshot_chunk(uint64_t id, std::string_view blob, uint64_t remaining) = 0;
  // Output the door holds that its peer has not taken yet (0 for an in-process door).
  virtual uint64_t unsent_bytes() const = 0;
  // False once the peer of snapshot request `id` is known to be gone (a gRPC stream whose
  // write failed): the path stops reading the snapshot and answers Cancelled.
  virtual bool snapshot_wanted(uint64_t /*id*/) const { return true; }
  // The path has handled one message of the door's actor (handlers()): output written
  // during it may leave now, together.
  virtual void end_of_turn() {}
};

class RequestPath {
 public:
  using Clock = std::chrono::steady_clock;

  RequestPath(caf::event_based_actor* self, NodeContextPtr ctx, Routes routes, DoorSink& sink);
  ~RequestPath();
  RequestPath(const RequestPath&) = delete;
  RequestPath& operator=(const RequestPath&) = delete;

  // Takes one request from `caller`. A refusal (validation, quota, a failed node, etcd's
  // auth checks: actors/auth_check.hpp) is answered at once; everything else when its turn
  // comes and its work is done.
  void submit(uint64_t id, Request request, Clock::time_point received = {},
              const auth::Caller& caller = {});

  // The replies, notices and watch messages addressed to the owning actor.
  caf::message_handler handlers();

  // The door sent some of its output: resume snapshot chunks and parked watchers.
  void output_drained();
  // The node failed (a core actor died): every waiting request, and every later one, is
  // answered with `error` (Unavailable).
  void fail(const protocol::WireError& error);

  // A door that serves one client connection over a socket (the MessagePack door) bounds
  // that client's reads, as the HTTP/2 door's loop bounds each connection's: at most
  // `in_flight` reads sent to the shards at once, the rest waiting here in the connection's
  // order; and a Range whose turn comes while the door holds more than `unsent_bound` bytes
  // its peer has not taken is answered etcd's "too many requests" without running. A read
  // another member forwarded is exempt from both: that connection carries many clients'
  // calls. So one client's burst of large reads neither fills the shards' mailboxes ahead
  // of everyone else's writes nor piles up answers it does not read. 0: no bound (the
  // default).
  struct ReadTurns {
    size_t in_flight = 0;
    uint64_t unsent_bound = 0;
  };
  void take_reads_in_turns(ReadTurns turns) { turns_ = turns; }

  // Requests taken and not yet answered (the door's in-flight limit).
  size_t pending() const;
  bool idle() const { return pending() == 0; }

 private:
  struct Queued {
    uint64_t id = 0;
    protocol::Method method{};
    Request request;
    Clock::time_point received;
    bool write = false;
    // KV writes: the shard or the coordinator that applies it (pipelined); null for the
    // other writes, which run alone.
    caf::actor applier;
    // With auth enabled, a LeaseRevoke or a Put that attaches a lease: the caller, who needs
    // write permission on every key already attached to the lease (etcd's checkLeasePuts).
    std::optional<auth::Caller> lease_check;
    // Cluster mode: a follower sends it to the leader (actors/forwarding.hpp), with `token`.
    bool forward = false;
    std::optional<std::string> token;
    // Cluster mode: another member forwarded this change (or linearizable read) here, and
    // waits until it applied what the answer shows: the answer announces the commit to the
    // followers (ClusterLink::announce_commit; a read's only if its revision is new).
    bool announce = false;
    // Cluster mode: another member forwarded it here (for its clients, over a connection it
    // reads at once): it takes no turn and is never refused for its connection's unsent
    // answers (ReadTurns).
    bool from_member = false;
  };
  // A write sent to its actor, answered in arrival order once durable.
  struct WriteInFlight {
    uint64_t id = 0;
    protocol::Method method{};
    Clock::time_point received;
    bool applied = false;          // its actor has answered
    std::optional<Answer> answer;  // once applied
    int64_t durable_at = 0;        // the revision W must reach before it leaves
    bool announce = false;         // as Queued's
  };
  struct ReadInFlight {
    protocol::Method method{};
    Clock::time_point received;
    bool announce = false;  // as Queued's: a linearizable read another member forwarded
  };
  struct SnapshotStream;
  struct PendingWatch {
    uint64_t id = 0;
    int64_t watch_id = 0;
    Clock::time_point received;
  };

  template <class T>
  std::optional<Answer> refusal(const T& request, bool& raised_alarm) const;
  void refuse_once_alarm_durable(uint64_t id, protocol::Method method, Clock::time_point received);
  void pump();
  bool may_start(const Queued& next) const;
  void dispatch(Queued q);
  template <class Reply, class Msg>
  void send_write(const Queued& q, const caf::actor& target, Msg msg);
  template <class Reply, class Msg>
  void forward_write(uint64_t id, const caf::actor& target, Msg msg);
  template <class Reply, class Msg>
  void check_lease_then_write(uint64_t id, const auth::Caller& caller, int64_t lease,
                              const caf::actor& target, Msg msg);
  template <class Reply, class Msg>
  void send_read(const Queued& q, const caf::actor& target, Msg msg);
  void start_read(const Queued& q);
  void forward_to_leader(Queued& q);
  // A request the leader answered for this follower: answered (applied() for a write,
  // read_done() for a read) once this member applied what the answer shows (`wait`,
  // actors/applied_here.hpp), or ClusterLink's wait for it passed.
  void applied_once_here(uint64_t id, bool write, const AppliedHere& wait, Answer answer);
  void serve_range(const Queued& q, const storage::RangeRequest& r);
  // The shards' part of a range read at `rev`, answered as of W = `w`.
  void fetch_range(uint64_t id, const storage::RangeRequest& r, int64_t w, int64_t rev);
  // Asks every target shard for `r` at `rev`, counted as `counting` says; `then` gets their
  // fetches, or the first error.
  using FetchedParts = std::function<void(std::optional<Answer>, std::vector<storage::RangeFetch>)>;
  void fan_out_range(const std::vector<caf::actor>& targets, const storage::RangeRequest& r,
                     int64_t rev, storage::Counting counting, FetchedParts then);
  void serve_watch(const Queued& q, const protocol::WatchRequest& w);
  void applied(uint64_t id, Answer answer, int64_t durable_at);
  // Cluster mode: whether this member must confirm that it leads before it answers from its
  // store (a linearizable read outside the leader's read lease); false on a single node.
  bool leadership_unconfirmed() const;
  // A barrier that started now (actors/read_index_actor.hpp); then(nullopt) once it confirmed
  // this member's leadership, then(the refusal) if not.
  template <class Then>
  void confirm_leadership(Then then);
  // Cluster mode: this member's ClusterLink::leadership_epoch while it leads, kNotLeading
  // while it does not; 0 on a single node. Taken when a write goes to its shard.
  static constexpr uint64_t kNotLeading = ~uint64_t{0};
  uint64_t leadership_now() const;
  // Whether an answer computed under `epoch` may go out as a read now: on a single node, or
  // within the read lease of that same leadership.
  bool covered_by_read_lease(uint64_t epoch) const;
  // applied(id, answer, durable_at) once a barrier confirms the leadership of `epoch`; the
  // refusal (`leader changed`) if it does not.
  void confirm_then_apply(uint64_t id, Answer answer, int64_t durable_at, uint64_t epoch);
  // A KV write's refusal from the store (refuse_once_durable): applied once the backend has
  // made durable everything the store held when it refused, then, with `confirm`, confirmed
  // as above.
  void refuse_once_durable(uint64_t id, Answer refusal, uint64_t epoch, bool confirm);
  void release_writes();
  void read_done(uint64_t id, Answer answer);
  // Leader: a read another member forwarded was answered; that member waits until it applied
  // what the answer shows (actors/applied_here.hpp), so the commit is announced.
  void announce_forwarded_read(const Answer& answer);
  void emit(uint64_t id, protocol::Method method, Clock::time_point received, Answer answer);
  void send_snapshot(const Queued& q);
  void stream_snapshots();
  void snapshot_idle(uint64_t id);
  void end_snapshot(Answer answer);
  void deliver_watch(std::vector<WatchDelivery>& deliveries);
  void watch_answered(uint32_t ref, std::optional<Response> response);

  caf::event_based_actor* self_;
  NodeContextPtr ctx_;
  Routes routes_;
  DoorSink& sink_;
  ::revkv::metrics::NodeMetrics* metrics_;  // ctx_->metrics, or null
  std::optional<protocol::WireError> failed_;

  ReadTurns turns_;                                   // take_reads_in_turns; none by default
  std::deque<Queued> queue_;                          // taken, waiting for their turn
  std::unordered_map<uint64_t, ReadInFlight> reads_;  // sent, not answered
  std::deque<WriteInFlight> writes_;
  size_t unapplied_ = 0;           // writes sent whose actor has not answered
  caf::actor unapplied_target_;    // the actor all of them went to
  bool unapplied_serial_ = false;  // one of them must be answered before any other write
  std::deque<std::unique_ptr<SnapshotStream>> snapshots_;
  size_t alarm_refusals_ = 0;  // refusals waiting for the NOSPACE alarm's record

  // Watch.Watch: the stream's ids, the hub's unanswered creates, cancels and progress
  // requests (by a reference of this path's own), and the watchers whose responses are
  // dropped because the door's peer does not read (they catch up from `kv` later).
  WatchStream watch_;
  std::unordered_map<uint32_t, PendingWatch> watch_pending_;
  uint32_t next_watch_ref_ = 1;
  std::unordered_set<uint64_t> parked_;
  bool watch_congested_ = false;
};

}  // namespace revkv::actors

// A door in the same process (the actor harness, tests) passes Requests and Answers as
// CAF messages; they never cross a process boundary.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(revkv::actors::Request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(revkv::actors::Answer)
