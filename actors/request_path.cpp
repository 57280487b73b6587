#include "actors/request_path.hpp"

#include "actors/applied_here.hpp"
#include "actors/auth_check.hpp"
#include "actors/cluster_gate.hpp"
#include "actors/forwarding.hpp"
#include "actors/leadership_drain.hpp"
#include "actors/lessor_actor.hpp"
#include "actors/messages.hpp"
#include "actors/methods.hpp"
#include "actors/page_shares.hpp"
#include "actors/routing.hpp"
#include "actors/snapshot_source.hpp"
#include "storage/keyspace_set.hpp"
#include "storage/range_rules.hpp"
#include "storage/txn_rules.hpp"

#include <caf/all.hpp>

#include <algorithm>
#include <array>
#include <memory>
#include <type_traits>

namespace revkv::actors {

protocol::WireError wire_error(const Answer& answer) {
  if (const auto* e = std::get_if<storage::Error>(&answer)) return protocol::to_wire_error(*e);
  if (const auto* w = std::get_if<protocol::WireError>(&answer)) return *w;
  return {};
}

protocol::WireError unavailable(std::string_view why) {
  return protocol::WireError{14, "revkv: unavailable: " + std::string(why)};
}

protocol::Method method_of(const Request& request) {
  // Built once: the method of each alternative of Request (visit_method names every one).
  static const auto table = [] {
    std::array<protocol::Method, std::variant_size_v<Request>> out{};
    for (auto m : protocol::all_methods()) {
      visit_method(m, [&](auto request_type, bool) {
        using T = typename decltype(request_type)::type;
        out[Request(std::in_place_type<T>).index()] = m;
      });
    }
    return out;
  }();
  return table[request.index()];
}

bool is_write(protocol::Method method) {
  bool write = false;
  visit_method(method, [&](auto, bool w) { write = w; });
  return write;
}

namespace {

// Whether `answer` is etcd's ErrCompacted, as this member's shards or the leader (relayed by
// the forwarder) wrote it.
bool refused_as_compacted(const Answer& answer) {
  if (const auto* e = std::get_if<storage::Error>(&answer))
    return e->code() == storage::Errc::compacted;
  if (const auto* e = std::get_if<protocol::WireError>(&answer))
    return *e == protocol::to_wire_error(storage::Errc::compacted);
  return false;
}

// The revision a KV answer names (the revision a write took or, taking none, the store's
// as it answered; a Range's header revision; a LeaseRevoke's header revision); 0 for an
// error or any other answer.
int64_t answered_revision(const Answer& answer) {
  const auto* response = std::get_if<Response>(&answer);
  if (response == nullptr) return 0;
  return std::visit(
      [](const auto& r) -> int64_t {
        using T = std::decay_t<decltype(r)>;
        if constexpr (std::is_same_v<T, storage::PutResponse> ||
                      std::is_same_v<T, storage::DeleteRangeResponse> ||
                      std::is_same_v<T, storage::TxnResponse> ||
                      std::is_same_v<T, storage::RangeResponse>) {
          return r.revision;
        } else if constexpr (std::is_same_v<T, protocol::LeaseRevokeResponse>) {
          return r.header.revision;
        } else {
          return 0;
        }
      },
      *response);
}

constexpr int64_t kCodeInternal = 14;
// Snapshot chunks are written while the door holds less than this unsent.
constexpr uint64_t kSnapshotWindowBytes = 4ull << 20;
constexpr size_t kSnapshotChunkBytes = 1 << 20;

protocol::WireError internal_error(const caf::error& err) {
  return protocol::WireError{kCodeInternal, "revkv: internal error: " + caf::to_string(err)};
}

template <class T>
Answer to_answer(storage::Result<T>& r) {
  if (!r.ok()) return r.error();
  return Response{std::move(*r)};
}

int64_t answer_code(const Answer& answer) {
  if (std::holds_alternative<Response>(answer)) return 0;
  return wire_error(answer).code;
}

// The Range, Put and DeleteRange operations a transaction ran: the branch it took, nested
// transactions' branches included.
struct OperationCount {
  int64_t ranges = 0, puts = 0, deletes = 0;
};

void count_operations(const storage::TxnResponse& txn, OperationCount& n) {
  for (const auto& r : txn.responses) {
    std::visit(
        [&n](const auto& op) {
          using T = std::decay_t<decltype(op)>;
          if constexpr (std::is_same_v<T, storage::RangeResponse>) ++n.ranges;
          if constexpr (std::is_same_v<T, storage::PutResponse>) ++n.puts;
          if constexpr (std::is_same_v<T, storage::DeleteRangeResponse>) ++n.deletes;
          if constexpr (std::is_same_v<T, storage::Box<storage::TxnResponse>>)
            count_operations(*op, n);
        },
        r.op);
  }
}

// etcd_mvcc_{range,put,delete,txn}_total: what an answered KV request ran.
void count_kv_operations(metrics::NodeMetrics& m, const Response& response) {
  if (std::holds_alternative<storage::RangeResponse>(response))
    return m.kv_operations(1, 0, 0, false);
  if (std::holds_alternative<storage::PutResponse>(response))
    return m.kv_operations(0, 1, 0, false);
  if (std::holds_alternative<storage::DeleteRangeResponse>(response))
    return m.kv_operations(0, 0, 1, false);
  if (const auto* txn = std::get_if<storage::TxnResponse>(&response)) {
    OperationCount n;
    count_operations(*txn, n);
    m.kv_operations(n.ranges, n.puts, n.deletes, true);
  }
}

}  // namespace

struct RequestPath::SnapshotStream {
  uint64_t id = 0;
  std::shared_ptr<SnapshotSlot> slot;
  SnapshotSourcePtr source;
  bool started = false;                          // an empty snapshot still sends one (empty) chunk
  RequestPath::Clock::time_point last_progress;  // the last chunk handed to the door
  bool idle_check_armed = false;
};

RequestPath::RequestPath(caf::event_based_actor* self, NodeContextPtr ctx, Routes routes,
                         DoorSink& sink)
    : self_(self),
      ctx_(std::move(ctx)),
      routes_(std::move(routes)),
      sink_(sink),
      metrics_(ctx_->metrics.get()) {}

RequestPath::~RequestPath() = default;

size_t RequestPath::pending() const {
  return queue_.size() + reads_.size() + writes_.size() + alarm_refusals_;
}

// Static validation and the quota, before anything is queued: a bad request is answered at
// once and never reaches a shard. `raised_alarm`: this refusal raised the NOSPACE alarm.
template <class T>
std::optional<Answer> RequestPath::refusal(const T& call, bool& raised_alarm) const {
  storage::Status s;
  if constexpr (std::is_same_v<T, storage::RangeRequest>) s = storage::validate_range(call);
  if constexpr (std::is_same_v<T, storage::PutRequest>) s = storage::validate_put(call);
  if constexpr (std::is_same_v<T, storage::DeleteRangeRequest>) s = storage::validate_delete(call);
  if constexpr (std::is_same_v<T, storage::TxnRequest>) {
    s = storage::validate_txn(call, ctx_->options.max_txn_ops);
  }
  if (!s.ok()) return Answer{s.error()};
  if constexpr (std::is_same_v<T, storage::PutRequest> || std::is_same_v<T, storage::TxnRequest> ||
                std::is_same_v<T, protocol::LeaseGrantRequest>) {
    // A grant is refused like a put while the NOSPACE alarm is up, and may raise it (etcd's
    // quota check, before the TTL's).
    int64_t cost = 0;
    if constexpr (std::is_same_v<T, protocol::LeaseGrantRequest>) {
      cost = storage::kLeaseGrantCost;
    } else {
      cost = storage::request_cost(call);
    }
    auto verdict = ctx_->check_space(cost);
    if (verdict != NodeContext::SpaceVerdict::accept) {
      raised_alarm = verdict == NodeContext::SpaceVerdict::refuse_raised;
      return Answer{storage::Error{storage::Errc::no_space}};
    }
  }
  return std::nullopt;
}

void RequestPath::submit(uint64_t id, Request request, Clock::time_point received,
                         const auth::Caller& caller) {
  auto method = method_of(request);
  // A door that opened after the failure was broadcast learns of it here.
  if (!failed_ && ctx_->failure.failed()) {
    auto reason = ctx_->failure.reason();
    fail(ctx_->failure.as_answer() ? protocol::WireError{14, std::move(reason)}
                                   : unavailable(reason));
  }
  if (failed_) return emit(id, method, received, *failed_);
  if (auto refused = cluster_refusal(*ctx_, method, request)) {
    if (!may_forward(*ctx_, caller)) return emit(id, method, received, *refused);
    // The leader validates, checks the quota and the caller's permissions, exactly as for
    // its own clients; here only this connection's order is kept. A forwarded write runs
    // alone (no applier): its answer comes from another process, so it is answered before
    // the next write of this connection leaves.
    Queued q{id, method, std::move(request), received, is_write(method), {}, {}, false, {}};
    q.forward = true;
    q.token = caller.token;
    queue_.push_back(std::move(q));
    return pump();
  }
  bool raised_alarm = false;
  auto refused = std::visit([&](const auto& r) { return refusal(r, raised_alarm); }, request);
  if (refused && raised_alarm) return refuse_once_alarm_durable(id, method, received);
  if (refused) return emit(id, method, received, std::move(*refused));
  // After validation and the quota, as etcd (its quota and request checks run before the
  // auth layer). With auth disabled and no token this is two loads of a flag.
  if (auto denied = auth_refusal(*ctx_, caller, request)) {
    // etcd answers a refused watch create on the stream, not with an error: a created and
    // canceled watch whose reason is the gRPC form of the check's error.
    const auto* watch = std::get_if<protocol::WatchRequest>(&request);
    const auto* create =
        watch ? std::get_if<protocol::WatchCreateRequest>(&watch->request) : nullptr;
    if (!create) return emit(id, method, received, std::move(*denied));
    protocol::WatchResponse refused_watch;
    refused_watch.header = ctx_->header(ctx_->watermark.load());
    refused_watch.watch_id = -1;  // etcd 3.4: clientv3.InvalidWatchID, whatever was asked
    refused_watch.created = true;
    refused_watch.canceled = true;
    refused_watch.cancel_reason = auth::errors::grpc_error_text(*denied);
    return emit(id, method, received, Response{std::move(refused_watch)});
  }
  Queued q{id, method, std::move(request), received, is_write(method), {}, {}, false, {}};
  if (lease_needs_check(*ctx_, q.request)) q.lease_check = caller;
  q.announce = caller.forwarded && ctx_->cluster != nullptr && waits_applied_here(q.request);
  q.from_member = caller.forwarded && ctx_->cluster != nullptr;
  size_t shards = routes_.shards.size();
  std::visit(
      [&](const auto& r) {
        using T = std::decay_t<decltype(r)>;
        if constexpr (std::is_same_v<T, storage::PutRequest> ||
                      std::is_same_v<T, storage::DeleteRangeRequest> ||
                      std::is_same_v<T, storage::TxnRequest>) {
          auto where = route(r, shards);
          q.applier = where.target == Target::owner_shard ? routes_.shards[where.shard]
                                                          : routes_.coordinator;
        }
      },
      q.request);
  queue_.push_back(std::move(q));
  pump();
}

// The ordering rules of one connection (request_path.hpp).
bool RequestPath::may_start(const Queued& next) const {
  if (!next.write)
    return writes_.empty() &&
           (turns_.in_flight == 0 || next.from_member || reads_.size() < turns_.in_flight);
  if (!reads_.empty()) return false;
  if (!next.applier) return writes_.empty();  // compact, defragment, alarm, Lease.*: alone
  if (unapplied_ == 0) return true;
  return !unapplied_serial_ && next.applier == unapplied_target_;
}

void RequestPath::pump() {
  while (!queue_.empty() && !failed_ && may_start(queue_.front())) {
    Queued q = std::move(queue_.front());
    queue_.pop_front();
    if (q.method == protocol::Method::kv_range && !q.from_member && turns_.unsent_bound > 0 &&
        sink_.unsent_bytes() > turns_.unsent_bound) {
      emit(q.id, q.method, q.received, protocol::too_many_requests());
      continue;
    }
    dispatch(std::move(q));
  }
}

void RequestPath::dispatch(Queued q) {
  if (q.forward) return forward_to_leader(q);
  auto& routes = routes_;
  std::visit(
      [&](auto& call) {
        using T = std::decay_t<decltype(call)>;
        if constexpr (std::is_same_v<T, storage::RangeRequest>) {
          serve_range(q, call);
        } else if constexpr (std::is_same_v<T, storage::PutRequest>) {
          send_write<storage::PutResponse>(q, q.applier, std::move(call));
        } else if constexpr (std::is_same_v<T, storage::DeleteRangeRequest>) {
          send_write<storage::DeleteRangeResponse>(q, q.applier, std::move(call));
        } else if constexpr (std::is_same_v<T, storage::TxnRequest>) {
          send_write<storage::TxnResponse>(q, q.applier, std::move(call));
        } else if constexpr (std::is_same_v<T, protocol::CompactionRequest>) {
          send_write<storage::CompactResponse>(q, routes.maintenance, std::move(call));
        } else if constexpr (std::is_same_v<T, protocol::HashRequest>) {
          send_read<protocol::HashResponse>(q, routes.maintenance, std::move(call));
        } else if constexpr (std::is_same_v<T, protocol::HashKVRequest>) {
          send_read<protocol::HashKVResponse>(q, routes.maintenance, std::move(call));
        } else if constexpr (std::is_same_v<T, protocol::StatusRequest>) {
          send_read<protocol::StatusResponse>(q, routes.maintenance, std::move(call));
        } else if constexpr (std::is_same_v<T, protocol::DefragmentRequest>) {
          send_write<protocol::DefragmentResponse>(q, routes.maintenance, std::move(call));
        } else if constexpr (std::is_same_v<T, protocol::AlarmRequest>) {
          send_write<protocol::AlarmResponse>(q, routes.maintenance, std::move(call));
        } else if constexpr (std::is_same_v<T, protocol::SnapshotRequest>) {
          send_snapshot(q);
        } else if constexpr (std::is_same_v<T, protocol::WatchRequest>) {
          serve_watch(q, call);
        } else if constexpr (LeaseRequest<T>) {
          using Reply = typename LeaseResponseOf<T>::type;
          if (q.write) {
            send_write<Reply>(q, routes.lessor, std::move(call));
          } else {
            send_read<Reply>(q, routes.lessor, std::move(call));
          }
        }
      },
      q.request);
}

// -- writes -----------------------------------------------------------------------------------

// A KV write is answered by its shard (or the coordinator) once applied, and leaves once
// durable; the other writes are answered when done.
template <class Reply, class Msg>
void RequestPath::send_write(const Queued& q, const caf::actor& target, Msg msg) {
  WriteInFlight w;
  w.id = q.id;
  w.method = q.method;
  w.received = q.received;
  w.announce = q.announce;
  writes_.push_back(std::move(w));
  ++unapplied_;
  unapplied_target_ = target;
  unapplied_serial_ = !q.applier;
  if constexpr (std::is_same_v<Msg, storage::PutRequest> ||
                std::is_same_v<Msg, protocol::LeaseRevokeRequest>) {
    if (q.lease_check) {
      // Nothing else of this connection starts before it: the write leaves only after the
      // lease's keys were read, so a pipelined write could overtake it.
      unapplied_serial_ = true;
      int64_t lease = 0;
      if constexpr (std::is_same_v<Msg, storage::PutRequest>)
        lease = msg.lease;
      else
        lease = msg.id;
      return check_lease_then_write<Reply>(q.id, *q.lease_check, lease, target, std::move(msg));
    }
  }
  forward_write<Reply>(q.id, target, std::move(msg));
}

template <class Reply, class Msg>
void RequestPath::forward_write(uint64_t id, const caf::actor& target, Msg msg) {
  const uint64_t epoch = leadership_now();
  // A Txn of serializable Ranges only (etcd's isTxnSerializable) is a serializable read:
  // answered from this member's store as it stands, on a follower too, never confirmed.
  bool serializable = false;
  if constexpr (std::is_same_v<Msg, storage::TxnRequest>)
    serializable = storage::is_serializable_read_txn(msg);
  self_->request(target, caf::infinite, std::move(msg))
      .then(
          [this, id, epoch, serializable](storage::Result<Reply>& r) {
            int64_t durable_at = 0;
            if constexpr (std::is_same_v<Reply, storage::PutResponse> ||
                          std::is_same_v<Reply, storage::DeleteRangeResponse> ||
                          std::is_same_v<Reply, storage::TxnResponse>) {
              if (!r.ok()) return refuse_once_durable(id, to_answer(r), epoch, !serializable);
              durable_at = r->revision;
              // Cluster mode: a write that took no revision proposed nothing, so no commit
              // confirms that this member still led when its store answered: confirm it as
              // a linearizable read is (a deposed leader's failed compare must not answer).
              if constexpr (!std::is_same_v<Reply, storage::PutResponse>) {
                if (!serializable && !storage::took_revision(*r) && !covered_by_read_lease(epoch))
                  return confirm_then_apply(id, to_answer(r), durable_at, epoch);
              }
            }
            applied(id, to_answer(r), durable_at);
            sink_.end_of_turn();
          },
          [this, id](caf::error& err) {
            applied(id, internal_error(err), 0);
            sink_.end_of_turn();
          });
}

// etcd 3.4's checkLeasePuts (apply_auth.go): whoever revokes a lease, or attaches one more
// key to it, must be allowed to write every key already attached — a lease's revocation
// deletes them all. The keys come from the lessor's LeaseTimeToLive gather; an unknown
// lease has none, and the write itself then answers "lease not found". etcd checks at apply
// time; here a key attached by another client between the gather and the write escapes
// this check (it was permitted to that client).
template <class Reply, class Msg>
void RequestPath::check_lease_then_write(uint64_t id, const auth::Caller& caller, int64_t lease,
                                         const caf::actor& target, Msg msg) {
  self_->request(routes_.lessor, caf::infinite, protocol::LeaseTimeToLiveRequest{lease, true})
      .then(
          [this, id, caller, target,
           msg = std::move(msg)](storage::Result<protocol::LeaseTimeToLiveResponse>& r) mutable {
            if (auto denied = lease_keys_refusal(*ctx_, caller, r)) {
              applied(id, std::move(*denied), 0);
              sink_.end_of_turn();
              return;
            }
            forward_write<Reply>(id, target, std::move(msg));
          },
          [this, id](caf::error& err) {
            applied(id, internal_error(err), 0);
            sink_.end_of_turn();
          });
}

// A write refused on what the store holds (a key or a lease not found) reveals that state,
// which may include writes not yet durable: a revocation whose record's removal is still on
// its way to disk, or a delete whose group is not synced (or, in cluster mode, not
// committed). The refusal leaves only once everything the store held when it answered is
// durable — every revision handed out so far and every record without revision handed to
// the backend before — so that no crash or deposed leader can take back what it told.
// Cluster mode: it is then confirmed as a linearizable read is, having proposed nothing
// (unless `confirm` is false: the refusal of a serializable read).
void RequestPath::refuse_once_durable(uint64_t id, Answer refusal, uint64_t epoch, bool confirm) {
  auto kept = std::make_shared<Answer>(std::move(refusal));
  self_
      ->request(routes_.backend, caf::infinite, all_durable_atom::value, ctx_->last_revision.load())
      .then(
          [this, id, kept, epoch, confirm](int64_t) {
            if (confirm && !covered_by_read_lease(epoch))
              return confirm_then_apply(id, std::move(*kept), 0, epoch);
            applied(id, std::move(*kept), 0);
            sink_.end_of_turn();
          },
          [this, id](caf::error& err) {
            applied(id, internal_error(err), 0);
            sink_.end_of_turn();
          });
}

bool RequestPath::leadership_unconfirmed() const {
  auto* link = ctx_->cluster.get();
  return link != nullptr && link->read_index && !link->read_lease_covers_now();
}

uint64_t RequestPath::leadership_now() const {
  auto* link = ctx_->cluster.get();
  if (link == nullptr) return 0;
  // The epoch first: `leader` is set only after the epoch moved to this leadership's value,
  // and cleared only after it moved past it.
  const uint64_t epoch = link->leadership_epoch.load();
  return link->leader.load() ? epoch : kNotLeading;
}

bool RequestPath::covered_by_read_lease(uint64_t epoch) const {
  auto* link = ctx_->cluster.get();
  if (link == nullptr || !link->read_index) return true;
  // The lease first, then the epoch: a lease is stored only after the epoch moved to its
  // leadership, so an unchanged epoch read after it says the lease is of that leadership.
  const bool leased = !leadership_unconfirmed();
  return leased && epoch == link->leadership_epoch.load();
}

template <class Then>
void RequestPath::confirm_leadership(Then then) {
  self_->request(ctx_->cluster->read_index, caf::infinite, read_index_atom::value)
      .then(
          [this, then](bool confirmed) mutable {
            if (confirmed)
              then(std::nullopt);
            else
              then(Answer{leader_changed_error()});
            sink_.end_of_turn();
          },
          [this, then](caf::error& err) mutable {
            then(Answer{internal_error(err)});
            sink_.end_of_turn();
          });
}

void RequestPath::confirm_then_apply(uint64_t id, Answer answer, int64_t durable_at,
                                     uint64_t epoch) {
  if (epoch != ctx_->cluster->leadership_epoch.load()) {
    // Computed under a leadership already over (or while not leading): no barrier can
    // confirm it.
    applied(id, leader_changed_error(), 0);
    sink_.end_of_turn();
    return;
  }
  auto kept = std::make_shared<Answer>(std::move(answer));
  confirm_leadership([this, id, kept, durable_at, epoch](std::optional<Answer> refused) {
    if (refused) return applied(id, std::move(*refused), 0);
    // Confirmed for the leadership that computed the answer, not a later one of this member
    // (deposed and elected again meanwhile: its store may have missed what another leader
    // acknowledged in between).
    if (epoch != ctx_->cluster->leadership_epoch.load())
      return applied(id, leader_changed_error(), 0);
    applied(id, std::move(*kept), durable_at);
  });
}

void RequestPath::applied(uint64_t id, Answer answer, int64_t durable_at) {
  if (failed_) return;  // answered already
  auto it = std::find_if(writes_.begin(), writes_.end(),
                         [id](const WriteInFlight& w) { return w.id == id; });
  if (it == writes_.end()) return;
  it->applied = true;
  it->answer = std::move(answer);
  it->durable_at = durable_at;
  if (--unapplied_ == 0) {
    unapplied_target_ = nullptr;
    unapplied_serial_ = false;
  }
  release_writes();
}

// Write answers leave in arrival order, each once the watermark covers it. The backend's
// notice may arrive before the shard's answer: the watermark itself is what is checked.
void RequestPath::release_writes() {
  if (failed_) return;
  int64_t w = ctx_->watermark.load();
  // What the followers that forwarded these must hear of: a KV write's revision (which a
  // read-only Txn or a DeleteRange that deleted nothing shares with earlier answers, so it
  // is announced once, as a read's), or an entry whose answer names no revision of its own
  // (a compaction, an alarm change, a revocation), always.
  int64_t announce_revision = 0;
  bool announce_entry = false;
  while (!writes_.empty() && writes_.front().applied && writes_.front().durable_at <= w) {
    auto done = std::move(writes_.front());
    writes_.pop_front();
    if (done.announce && std::holds_alternative<Response>(*done.answer)) {
      const bool kv = done.method == protocol::Method::kv_put ||
                      done.method == protocol::Method::kv_delete_range ||
                      done.method == protocol::Method::kv_txn;
      if (kv) {
        announce_revision = std::max(announce_revision, answered_revision(*done.answer));
      } else {
        announce_entry = true;
      }
    }
    emit(done.id, done.method, done.received, std::move(*done.answer));
  }
  if (announce_entry && ctx_->cluster->announce_commit) {
    ctx_->cluster->announce_commit();
  } else if (announce_revision > 0) {
    ctx_->cluster->announce_commit_of(announce_revision);
  }
  pump();
}

// -- reads ------------------------------------------------------------------------------------

void RequestPath::start_read(const Queued& q) {
  reads_.emplace(q.id, ReadInFlight{q.method, q.received, q.announce});
}

// Cluster mode: the leader's answer, whatever it is, is relayed unchanged. A write whose
// forwarding failed is not retried: the leader may have applied it (its client retries,
// as etcd's do on Unavailable).
void RequestPath::forward_to_leader(Queued& q) {
  const auto& link = *ctx_->cluster;
  const bool write = q.write;
  const uint64_t id = q.id;
  if (write) {
    WriteInFlight w;
    w.id = id;
    w.method = q.method;
    w.received = q.received;
    writes_.push_back(std::move(w));
    ++unapplied_;
    unapplied_target_ = link.forwarder;
    unapplied_serial_ = true;
  } else {
    start_read(q);
  }
  auto done = [this, id, write, wait = applied_here(q.request)](Answer answer) {
    applied_once_here(id, write, wait, std::move(answer));
  };
  self_
      ->request(link.forwarder, caf::infinite, forward_atom::value,
                ForwardCall{std::move(q.request), std::move(q.token)})
      .then([done](Answer& answer) { done(std::move(answer)); },
            [done](caf::error& err) { done(internal_error(err)); });
}

// etcd's member answers a proposal it forwarded once it applied the entry itself, so a
// serializable read on it right after sees the change (actors/applied_here.hpp); and a
// linearizable read once it applied up to the leader's read index, so a serializable read
// on it right after sees at least as much. The leader
// announces the commit at once (ClusterLink::announce_commit); a member that lags answers
// after a bounded wait: the change is committed either way, and the client's next
// linearizable read sees it. The actor waited on forgets the wait once it runs out, so a
// member cut off from the log holds no more waits than one such period brings.
void RequestPath::applied_once_here(uint64_t id, bool write, const AppliedHere& wait,
                                    Answer answer) {
  auto kept = std::make_shared<Answer>(std::move(answer));
  auto done = [this, id, write, kept] {
    if (write) {
      applied(id, std::move(*kept), 0);
    } else {
      read_done(id, std::move(*kept));
    }
    sink_.end_of_turn();
  };
  const auto& link = *ctx_->cluster;
  // A wait that ran out is counted: this member lags behind the log.
  auto lagged = [done, cluster = ctx_->cluster] {
    cluster->forwarded_apply_timeouts.fetch_add(1, std::memory_order_relaxed);
    done();
  };
  // Asks this member's maintenance actor for the change (`what`), answering once it says so.
  auto ask_maintenance = [&](std::chrono::milliseconds patience, auto... what) {
    self_
        ->request(routes_.maintenance, patience, applied_here_atom::value, what...,
                  caf::timespan{patience})
        .then([done, lagged](bool reached) { reached ? done() : lagged(); },
              [lagged](caf::error&) { lagged(); });
  };
  const bool ok = std::holds_alternative<Response>(*kept);
  const auto* at_revision = std::get_if<AppliedAtRevision>(&wait);
  if (at_revision && ok && routes_.backend) {
    const int64_t revision = answered_revision(*kept);
    if (revision > ctx_->watermark.load()) {
      const auto patience = link.forwarded_apply_wait;
      self_->request(routes_.backend, patience, wait_atom::value, revision, caf::timespan{patience})
          .then([done, lagged, revision](int64_t w) { w >= revision ? done() : lagged(); },
                [lagged](caf::error&) { lagged(); });
      return;
    }
  }
  if (at_revision && at_revision->read_revision > 0 && refused_as_compacted(*kept) &&
      routes_.maintenance) {
    // The leader's compaction passed the read's revision: once this member's has too, the
    // same read, serializable, is refused here as well (etcd's follower reads after applying
    // up to the read index, which holds the compaction).
    if (at_revision->read_revision >= ctx_->compact_revision.load())
      return ask_maintenance(link.forwarded_apply_wait, at_revision->read_revision + 1, false);
  }
  if (const auto* compacted = std::get_if<CompactedHere>(&wait);
      compacted && ok && routes_.maintenance) {
    // A physical compaction is answered once this member's own physical job is done too,
    // which takes as long as the leader's did.
    return ask_maintenance(
        compacted->physical ? link.forwarded_physical_compaction_wait : link.forwarded_apply_wait,
        compacted->revision, compacted->physical);
  }
  if (const auto* alarm = std::get_if<AlarmHere>(&wait); alarm && ok && routes_.maintenance)
    return ask_maintenance(link.forwarded_apply_wait, alarm->raised);
  done();
}

template <class Reply, class Msg>
void RequestPath::send_read(const Queued& q, const caf::actor& target, Msg msg) {
  start_read(q);
  self_->request(target, caf::infinite, std::move(msg))
      .then(
          [this, id = q.id](storage::Result<Reply>& r) {
            read_done(id, to_answer(r));
            sink_.end_of_turn();
          },
          [this, id = q.id](caf::error& err) {
            read_done(id, internal_error(err));
            sink_.end_of_turn();
          });
}

void RequestPath::read_done(uint64_t id, Answer answer) {
  if (failed_) return;
  auto it = reads_.find(id);
  if (it == reads_.end()) return;
  auto read = it->second;
  reads_.erase(it);
  if (read.announce) announce_forwarded_read(answer);
  emit(id, read.method, read.received, std::move(answer));
  pump();
}

// The revision of the answer is announced once per revision (a read load with no writes asks
// for no barrier at all); a refusal as compacted, once per compaction (the forwarding member
// waits for the compaction, whose entry may follow every revision announced so far).
void RequestPath::announce_forwarded_read(const Answer& answer) {
  auto& link = *ctx_->cluster;
  if (!refused_as_compacted(answer)) return link.announce_commit_of(answered_revision(answer));
  link.announce_compaction(ctx_->compact_revision.load());
}

// The request whose quota check raised the NOSPACE alarm is answered once the alarm's
// record is durable: the backend actor writes and syncs it with its next group, so this
// door's thread never waits for an fsync, and a client that saw ErrNoSpace finds the alarm
// raised after a crash (--sync always).
void RequestPath::refuse_once_alarm_durable(uint64_t id, protocol::Method method,
                                            Clock::time_point received) {
  auto refuse = [this, id, method, received] {
    --alarm_refusals_;
    emit(id, method, received, Answer{storage::Error{storage::Errc::no_space}});
    sink_.end_of_turn();
  };
  ++alarm_refusals_;
  if (!routes_.backend) {
    // A test's scripted routes without a backend: nothing can persist it.
    refuse();
    return;
  }
  if (ctx_->cluster && routes_.maintenance) {
    // Cluster mode: the alarm is a state change every member applies (docs/CLUSTER.md "The
    // NOSPACE alarm"); the maintenance actor proposes it on its own thread. A failed
    // proposal (leadership lost) still refuses this write: the quota refused it.
    protocol::AlarmRequest raise{protocol::AlarmAction::activate, ctx_->member_id,
                                 protocol::AlarmType::nospace};
    self_->request(routes_.maintenance, caf::infinite, raise)
        .then([refuse](storage::Result<protocol::AlarmResponse>&) { refuse(); },
              [refuse](caf::error&) { refuse(); });
    return;
  }
  auto record = std::make_shared<storage::WriteBatch>(ctx_->nospace_alarm_record(true));
  self_->request(routes_.backend, caf::infinite, write_atom::value, int64_t{0}, std::move(record))
      .then([refuse](int64_t) { refuse(); }, [refuse](caf::error&) { refuse(); });
}

void RequestPath::emit(uint64_t id, protocol::Method method, Clock::time_point received,
                       Answer answer) {
  if (metrics_) {
    metrics_->request_done(method, answer_code(answer),
                           std::chrono::duration<double>(Clock::now() - received).count());
    if (const auto* response = std::get_if<Response>(&answer))
      count_kv_operations(*metrics_, *response);
  }
  sink_.answer(id, method, std::move(answer));
}

void RequestPath::serve_range(const Queued& q, const storage::RangeRequest& r) {
  if (!r.serializable && leadership_unconfirmed()) {
    // Cluster mode: a linearizable read on the leader, outside its read lease, waits for a
    // barrier that started after it arrived (one barrier serves every read waiting,
    // actors/read_index_actor.hpp), then reads at W. The read is in flight meanwhile, so this
    // connection's order holds. Within the lease no other leader can exist: W already covers
    // every acknowledged write (docs/CLUSTER.md "Linearizable reads").
    start_read(q);
    confirm_leadership([this, id = q.id, r](std::optional<Answer> refused) {
      if (refused) return read_done(id, std::move(*refused));
      int64_t w = ctx_->watermark.load();
      auto rev = storage::resolve_read_revision(r.revision, w, ctx_->compact_revision.load());
      if (rev.ok()) return fetch_range(id, r, w, *rev);
      read_done(id, rev.error());
    });
    return;
  }
  int64_t w = ctx_->watermark.load();
  auto rev = storage::resolve_read_revision(r.revision, w, ctx_->compact_revision.load());
  if (!rev.ok()) {
    if (q.announce) announce_forwarded_read(rev.error());
    return emit(q.id, q.method, q.received, rev.error());
  }
  start_read(q);
  fetch_range(q.id, r, w, *rev);
}

namespace {

// Whether the page is the range's first `limit` keys in key order, so that each shard's share
// of it can be fetched alone (actors/page_shares.hpp): fetch_limit(r) > 0 (no sort order, no
// filter) and the sort target the key (with no order, etcd still sorts the fetched limit + 1
// by any other target, and the truncation then keeps another set); not count_only, which
// fetches no key.
bool in_key_order(const storage::RangeRequest& r) {
  return storage::fetch_limit(r) > 0 &&
         r.sort_target == static_cast<int32_t>(storage::SortTarget::key) &&
         storage::fetch_depth(r) != storage::FetchDepth::count;
}

}  // namespace

void RequestPath::fetch_range(uint64_t id, const storage::RangeRequest& r, int64_t w, int64_t rev) {
  auto where = route(r, routes_.shards.size());
  std::vector<caf::actor> targets;
  if (where.target == Target::owner_shard) {
    targets.push_back(routes_.shards[where.shard]);
  } else {
    targets = routes_.shards;
  }
  auto answer = [this, id](Answer a) {
    read_done(id, std::move(a));
    sink_.end_of_turn();
  };
  // A page of a LIST: the count the previous page carried, if this is its continuation; the
  // shards then count only what they fetch, and the count this page carries on is recorded
  // once it is answered.
  auto carry = std::make_shared<PageCount>(r, rev, ctx_->range_counts);
  if (carry->known() && metrics_) metrics_->range_count_carried();
  const auto counting =
      carry->known() ? storage::Counting::fetched_only : storage::Counting::whole_range;
  auto merged = [r, w, carry, answer](std::optional<Answer> error,
                                      std::vector<storage::RangeFetch> parts) {
    if (error) return answer(std::move(*error));
    auto fetched = storage::merge_fetches(std::move(parts), storage::fetch_limit(r));
    const int64_t count = carry->known().value_or(fetched.count);
    carry->leave(fetched.kvs, count);
    answer(Response{storage::finish_range(r, std::move(fetched.kvs), count, w)});
  };
  const int64_t fetch = storage::fetch_limit(r);
  const int64_t share = shard_share(fetch, targets.size());
  if (!in_key_order(r) || share >= fetch) return fan_out_range(targets, r, rev, counting, merged);
  // Each shard fetches its share of the page; a shard whose share may fall short of the
  // page is then asked for the rest of its part of it, from just after its last key (at most
  // fetch - share more keys: no shard holds more than `fetch` of the page). Both rounds read
  // at `rev`, where the range holds the same keys; the first round's counts are the page's.
  auto shares = r;
  shares.limit = share - 1;  // a shard fetches limit + 1
  fan_out_range(
      targets, shares, rev, counting,
      [this, r, rev, share, fetch, merged](std::optional<Answer> error,
                                           std::vector<storage::RangeFetch> parts) {
        const auto short_parts = error ? std::vector<size_t>{} : short_shares(parts, share, fetch);
        if (short_parts.empty()) return merged(std::move(error), std::move(parts));
        if (metrics_) metrics_->range_shares_short();
        auto first = std::make_shared<std::vector<storage::RangeFetch>>(std::move(parts));
        auto joined = std::make_shared<size_t>(short_parts.size());
        auto failure = std::make_shared<std::optional<Answer>>();
        for (size_t i : short_parts) {
          const auto& last = (*first)[i].kvs.back().key;
          auto rest = r;
          rest.key = last + '\0';
          rest.limit = std::max<int64_t>(1, fetch - share - 1);
          const auto shard = routes_.shards[storage::shard_of(last, routes_.shards.size())];
          fan_out_range({shard}, rest, rev, storage::Counting::fetched_only,
                        [first, joined, failure, merged](std::optional<Answer> error,
                                                         std::vector<storage::RangeFetch> more) {
                          if (error && !*failure) *failure = std::move(error);
                          for (auto& part : more) {
                            part.count = 0;  // counted by the first round
                            first->push_back(std::move(part));
                          }
                          if (--*joined == 0) merged(std::move(*failure), std::move(*first));
                        });
        }
      });
}

void RequestPath::fan_out_range(const std::vector<caf::actor>& targets,
                                const storage::RangeRequest& r, int64_t rev,
                                storage::Counting counting, FetchedParts then) {
  struct Merge {
    std::vector<storage::RangeFetch> parts;
    std::optional<Answer> error;
    size_t remaining = 0;
    FetchedParts then;
  };
  auto merge = std::make_shared<Merge>();
  merge->remaining = targets.size();
  merge->then = std::move(then);
  auto part_done = [merge] {
    if (--merge->remaining == 0) merge->then(std::move(merge->error), std::move(merge->parts));
  };
  for (const auto& shard : targets) {
    auto asked = counting == storage::Counting::whole_range
                     ? self_->request(shard, caf::infinite, range_atom::value, r, rev)
                     : self_->request(shard, caf::infinite, range_page_atom::value, r, rev);
    asked.then(
        [merge, part_done](storage::Result<storage::RangeFetch>& part) {
          if (part.ok()) {
            merge->parts.push_back(std::move(*part));
          } else if (!merge->error) {
            merge->error = Answer{part.error()};
          }
          part_done();
        },
        [merge, part_done](caf::error& err) {
          if (!merge->error) merge->error = Answer{internal_error(err)};
          part_done();
        });
  }
}

// -- snapshots --------------------------------------------------------------------------------

// A snapshot takes a slot of NodeOptions::max_snapshots for as long as it lives (waiting for
// its checkpoint, then streaming); without a free one it is refused at once, so that many
// clients asking together cannot pile up checkpoints on the disk.
void RequestPath::send_snapshot(const Queued& q) {
  std::shared_ptr<SnapshotSlot> slot = SnapshotSlot::acquire(*ctx_);
  // etcd's overload answer when every snapshot slot is taken.
  if (!slot) return emit(q.id, q.method, q.received, protocol::too_many_requests());
  start_read(q);
  self_->request(routes_.maintenance, caf::infinite, protocol::SnapshotRequest{})
      .then(
          [this, id = q.id, slot](storage::Result<SnapshotSourcePtr>& r) {
            if (!r.ok()) {
              read_done(id, r.error());
            } else if (!failed_) {
              auto stream = std::make_unique<SnapshotStream>();
              stream->id = id;
              stream->slot = slot;
              stream->source = std::move(*r);
              stream->last_progress = Clock::now();
              snapshots_.push_back(std::move(stream));
              stream_snapshots();
            }
            sink_.end_of_turn();
          },
          [this, id = q.id](caf::error& err) {
            read_done(id, internal_error(err));
            sink_.end_of_turn();
          });
}

// Chunks of at most 1 MiB, each read from the checkpoint when it is sent, while the door's
// unsent output is under the window; then the answer. The rest when the door reports its
// output drained. Streams of one door go one after the other.
void RequestPath::stream_snapshots() {
  while (!snapshots_.empty() && !failed_) {
    auto& s = *snapshots_.front();
    if (!sink_.snapshot_wanted(s.id)) {
      end_snapshot(protocol::WireError{1, "revkv: snapshot canceled: the client went away"});
      continue;
    }
    auto& source = *s.source;
    std::string chunk;
    storage::Status read;
    while ((!source.done() || !s.started) && sink_.unsent_bytes() < kSnapshotWindowBytes) {
      read = source.next(kSnapshotChunkBytes, chunk);
      if (!read.ok()) break;
      s.started = true;
      s.last_progress = Clock::now();
      sink_.snapshot_chunk(s.id, chunk, source.remaining());
    }
    if (!read.ok()) {
      end_snapshot(read.error());
      continue;
    }
    if (!source.done() || !s.started) {
      // Waiting for the door: check for a stall once the idle timeout could have passed.
      if (!s.idle_check_armed) {
        s.idle_check_armed = true;
        auto wait = ctx_->options.snapshot_idle_timeout - (Clock::now() - s.last_progress);
        self_->delayed_send(self_, std::max<Clock::duration>(wait, Clock::duration::zero()),
                            snapshot_idle_atom::value, s.id);
      }
      return;
    }
    end_snapshot(Response{protocol::SnapshotResponse{
        source.header(), static_cast<int64_t>(source.size()), source.sha256()}});
  }
}

// Answers the front stream, then drops it: its checkpoint folder goes, its slot is free.
// In this order, so that once the folder is gone the answer is out (and counted).
void RequestPath::end_snapshot(Answer answer) {
  auto done = std::move(snapshots_.front());
  snapshots_.pop_front();
  read_done(done->id, std::move(answer));
  done.reset();
  // The next stream waited for this one, not for its client: its idle time starts now.
  if (!snapshots_.empty()) snapshots_.front()->last_progress = Clock::now();
}

void RequestPath::snapshot_idle(uint64_t id) {
  if (snapshots_.empty() || snapshots_.front()->id != id) return;  // ended meanwhile
  auto& s = *snapshots_.front();
  s.idle_check_armed = false;
  const auto timeout = ctx_->options.snapshot_idle_timeout;
  if (Clock::now() - s.last_progress >= timeout) {
    end_snapshot(protocol::WireError{
        4,
        "revkv: snapshot stream stalled: the client took nothing for " +
            std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(timeout).count()) +
            " ms"});
  }
  stream_snapshots();  // re-arms the check if the stream still waits
}

void RequestPath::output_drained() {
  if (watch_congested_ && sink_.unsent_bytes() < ctx_->options.watch_buffer_bytes / 2) {
    watch_congested_ = false;
    self_->send(routes_.watch_hub, watch_drained_atom::value);
  }
  stream_snapshots();
}

// -- Watch.Watch ------------------------------------------------------------------------------

namespace {

protocol::WatchResponse canceled_response(const NodeContext& ctx, int64_t watch_id) {
  protocol::WatchResponse r;
  r.header = ctx.header(ctx.watermark.load());
  r.watch_id = watch_id;
  r.canceled = true;
  return r;
}

}  // namespace

void RequestPath::serve_watch(const Queued& q, const protocol::WatchRequest& w) {
  start_read(q);
  uint32_t ref = next_watch_ref_++;
  if (const auto* create = std::get_if<protocol::WatchCreateRequest>(&w.request)) {
    auto outcome = watch_.create(*create);
    if (auto* rejected = std::get_if<protocol::WatchResponse>(&outcome)) {
      rejected->header = ctx_->header(ctx_->watermark.load());
      return read_done(q.id, Response{std::move(*rejected)});
    }
    auto& accepted = std::get<WatchStream::Accepted>(outcome);
    watch_pending_[ref] = PendingWatch{q.id, accepted.watch_id, q.received};
    self_->send(routes_.watch_hub, watch_create_atom::value, ref, accepted.tag,
                std::move(accepted.spec));
  } else if (const auto* cancel = std::get_if<protocol::WatchCancelRequest>(&w.request)) {
    auto tag = watch_.cancel(cancel->watch_id);
    if (!tag) return read_done(q.id, Response{NoAnswer{}});
    parked_.erase(*tag);
    if (*tag == 0) {  // cancelled by a compaction already: nothing left at the hub
      return read_done(q.id, Response{canceled_response(*ctx_, cancel->watch_id)});
    }
    // The hub answers: its answer follows the created response of a create still on its
    // way (pipelined create + cancel of one id).
    watch_pending_[ref] = PendingWatch{q.id, cancel->watch_id, q.received};
    self_->send(routes_.watch_hub, watch_cancel_atom::value, ref, *tag);
  } else {
    watch_pending_[ref] = PendingWatch{q.id, -1, q.received};
    self_->send(routes_.watch_hub, watch_progress_atom::value, ref);
  }
}

void RequestPath::watch_answered(uint32_t ref, std::optional<Response> response) {
  auto it = watch_pending_.find(ref);
  if (it == watch_pending_.end()) return;
  uint64_t id = it->second.id;
  watch_pending_.erase(it);
  read_done(id, response ? std::move(*response) : Response{NoAnswer{}});
}

// Responses of the hub for this stream's watchers. Past `watch_buffer_bytes` of unsent
// output a watcher is parked: its responses are dropped from the first one not written,
// and the hub resends them from `kv` once the door's peer has read its backlog.
void RequestPath::deliver_watch(std::vector<WatchDelivery>& deliveries) {
  const size_t fragment_limit = ctx_->options.max_request_bytes + 512 * 1024;
  for (auto& d : deliveries) {
    auto id = watch_.id_of(d.tag);
    if (!id) continue;  // cancelled meanwhile
    d.response.watch_id = *id;
    if (d.response.canceled) {
      watch_.compacted(d.tag);  // written even while parked: nothing follows it
      parked_.erase(d.tag);
    } else if (parked_.contains(d.tag)) {
      continue;
    } else if (sink_.unsent_bytes() > ctx_->options.watch_buffer_bytes) {
      if (d.event_count() == 0) continue;  // a progress notification: the next will do
      parked_.insert(d.tag);
      watch_congested_ = true;
      self_->send(routes_.watch_hub, watch_slow_atom::value, d.tag, d.first_revision());
      continue;
    }
    // The watcher's own copy of its events exists only while the door encodes it.
    if (watch_.fragments(d.tag)) {
      for (auto& part : fragment_response(d.take_response(), fragment_limit))
        sink_.watch_response(std::move(part));
    } else {
      sink_.watch_response(d.take_response());
    }
  }
}

// -- failure ----------------------------------------------------------------------------------

void RequestPath::fail(const protocol::WireError& error) {
  if (failed_) return;
  failed_ = error;
  // In arrival order where it is known: the writes, then the reads, then the queue.
  for (auto& w : writes_)
    emit(w.id, w.method, w.received, error);
  writes_.clear();
  for (auto& [id, r] : reads_)
    emit(id, r.method, r.received, error);
  reads_.clear();
  for (auto& q : queue_)
    emit(q.id, q.method, q.received, error);
  queue_.clear();
  snapshots_.clear();
  watch_pending_.clear();
  unapplied_ = 0;
}

caf::message_handler RequestPath::handlers() {
  return {
      [this](durable_atom, int64_t) {
        release_writes();
        sink_.end_of_turn();
      },
      [this](watch_created_atom, uint32_t ref, uint64_t, int64_t revision) {
        auto it = watch_pending_.find(ref);
        if (it == watch_pending_.end()) return;
        protocol::WatchResponse r;
        r.header = ctx_->header(revision);
        r.watch_id = it->second.watch_id;
        r.created = true;
        watch_answered(ref, Response{std::move(r)});
        sink_.end_of_turn();
      },
      [this](watch_progress_atom, uint32_t ref, int64_t revision) {
        // A watcher parked here but not yet at the hub may get history at or below the
        // hub's answer again: no promise then (SPEC §7.9, a dropped progress request).
        if (revision < 0 || !parked_.empty()) {
          watch_answered(ref, std::nullopt);
        } else {
          protocol::WatchResponse r;
          r.header = ctx_->header(revision);
          r.watch_id = -1;
          watch_answered(ref, Response{std::move(r)});
        }
        sink_.end_of_turn();
      },
      [this](watch_cancel_atom, uint32_t ref) {
        auto it = watch_pending_.find(ref);
        if (it == watch_pending_.end()) return;
        watch_answered(ref, Response{canceled_response(*ctx_, it->second.watch_id)});
        sink_.end_of_turn();
      },
      [this](watch_out_atom, WatchDeliveries& deliveries) {
        if (!failed_) deliver_watch(deliveries);
        sink_.end_of_turn();
      },
      [this](watch_unpark_atom, uint64_t tag) { parked_.erase(tag); },
      [this](snapshot_idle_atom, uint64_t id) {
        snapshot_idle(id);
        sink_.end_of_turn();
      },
  };
}

}  // namespace revkv::actors
