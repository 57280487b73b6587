#include "actors/lessor_actor.hpp"

#include "actors/cluster_gate.hpp"
#include "actors/fatal.hpp"
#include "actors/messages.hpp"
#include "actors/state_change.hpp"
#include "actors/thread_names.hpp"
#include "storage/history.hpp"
#include "storage/record.hpp"

#include <caf/all.hpp>

#include <algorithm>
#include <chrono>
#include <limits>
#include <map>
#include <memory>
#include <set>
#include <utility>

namespace revkv::actors {

using util::ClockPtr;
using TimePoint = util::Clock::time_point;

struct LeaseTimer {
  int64_t ttl = 0;  // granted (effective) seconds
  TimePoint expiry;
  bool revoking = false;  // a revocation is on its way through the coordinator
};

struct LessorState {
  LessorState() = default;  // not an aggregate: CAF would build it from `self` (C++20)
  static inline const char* name = "lessor";

  NodeContextPtr ctx;
  ClockPtr clock;  // lease time (util/clock.hpp)
  std::vector<caf::actor> shards;
  caf::actor coordinator;
  // Writes a grant's record (a single node): joins the backend actor's next commit group.
  caf::actor backend;
  // Grants whose records are on their way to the disk: their ids are taken, but the leases
  // exist (in `leases`, in ctx->leases, for LeaseLeases and keep-alives) only once durable.
  std::set<int64_t> granting;
  // Cluster mode: the grants whose proposals are in flight, by id (also in `granting`), with
  // the promise of their answer.
  struct ProposedGrant {
    storage::LeaseRecord record;
    caf::response_promise answer;
  };
  std::map<int64_t, ProposedGrant> proposed;
  // Mirrors ctx->leases (the records the shards check) with the timing; an entry leaves
  // only once the coordinator has removed the record. Changed only through track(),
  // renew() and forget(), which keep by_expiry in step.
  std::map<int64_t, LeaseTimer> leases;
  // (expiry, id) of every lease: the expiry check and LeaseLeases read it in order.
  std::set<std::pair<TimePoint, int64_t>> by_expiry;
  int64_t next_id = 1;
  int64_t expiring = 0;  // revocations by expiry in flight
  // Revocations by expiry allowed now: lease_revoke_rate per second, earned at each check
  // and capped at one check's worth (at least one), so a low rate is kept over time too.
  double revoke_credit = 0;
  // Cluster mode: whether this lessor acted as the leader's at its last check (a member that
  // becomes leader extends every lease first, as etcd's lessor Promote does).
  bool leading = false;

  protocol::ResponseHeader header() const { return ctx->header(ctx->watermark.load()); }

  void track(int64_t id, int64_t ttl, TimePoint expiry) {
    leases[id] = LeaseTimer{ttl, expiry, false};
    by_expiry.emplace(expiry, id);
  }
  void renew(std::map<int64_t, LeaseTimer>::iterator it, TimePoint expiry) {
    by_expiry.erase({it->second.expiry, it->first});
    it->second.expiry = expiry;
    by_expiry.emplace(expiry, it->first);
  }
  void forget(int64_t id) {
    auto it = leases.find(id);
    if (it == leases.end()) return;
    by_expiry.erase({it->second.expiry, id});
    leases.erase(it);
  }
};

namespace {

using Self = caf::stateful_actor<LessorState>;
using RevokeResult = storage::Result<storage::LeaseRevokeResponse>;

// now + extra + ttl seconds, saturating: a TTL may be up to 9e9 s, near the clock's range.
// `extra`: etcd's extension on a restart or a new leader (the election timeout,
// NodeOptions::lease_restart_extension), or none.
TimePoint deadline(TimePoint now, std::chrono::milliseconds extra, int64_t ttl) {
  using std::chrono::seconds;
  auto room = std::chrono::duration_cast<seconds>(TimePoint::max() - now - extra).count();
  if (ttl >= room) return TimePoint::max();
  return now + extra + seconds(ttl);
}

// Whole seconds left, truncated toward zero; an expired lease not yet revoked reports 0.
int64_t remaining_seconds(const LeaseTimer& t, TimePoint now) {
  if (t.expiry <= now) return 0;
  return std::chrono::duration_cast<std::chrono::seconds>(t.expiry - now).count();
}

// Cluster mode: whether this lessor acts as the leader's (true on a single node). One that
// just became the leader's first gives every lease its full TTL again plus the election
// timeout (etcd's lessor Promote with its default extension): the previous leader's clock
// and keep-alives are unknown here, so nothing may expire because of the change. Called
// before anything reads or acts on a lease's expiry.
bool follow_leadership(LessorState& st) {
  if (!st.ctx->cluster) return true;
  bool leads = st.ctx->cluster->leader.load();
  if (leads && !st.leading) {
    auto now = st.clock->now();
    for (auto it = st.leases.begin(); it != st.leases.end(); ++it)
      st.renew(it, deadline(now, st.ctx->options.lease_restart_extension, it->second.ttl));
  }
  st.leading = leads;
  return leads;
}

// A positive id in use neither here nor in the records. The counter starts from the wall
// clock so that ids are not handed out again after a restart (etcd derives them from time).
int64_t pick_id(LessorState& st) {
  for (;;) {
    if (st.next_id <= 0) st.next_id = 1;
    int64_t id = st.next_id++;
    if (!st.leases.contains(id) && !st.ctx->leases.exists(id) && !st.granting.contains(id))
      return id;
  }
}

int64_t first_id() {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                std::chrono::system_clock::now().time_since_epoch())
                .count();
  return std::max<int64_t>(1, (ms & ((int64_t{1} << 46) - 1)) << 16);
}

// Revokes `id` through the coordinator (shards paused, keys deleted at one revision, the
// record removed) and calls done(result). The same path for LeaseRevoke, for a keep-alive
// on an expired lease and for expiry.
template <class Done>
void revoke(Self* self, int64_t id, Done done) {
  if (auto it = self->state.leases.find(id); it != self->state.leases.end()) {
    it->second.revoking = true;
  }
  self->request(self->state.coordinator, caf::infinite, revoke_atom::value, id)
      .then(
          [self, id, done](RevokeResult& r) mutable {
            // Not found: an earlier revocation of the same lease removed the record.
            if (r.ok() || r.error().code() == storage::Errc::lease_not_found) {
              self->state.forget(id);
            }
            if (r.ok())
              self->state.ctx->lease_revoked_total.fetch_add(1, std::memory_order_relaxed);
            done(r);
          },
          [self, id, done](caf::error& err) mutable {
            if (auto it = self->state.leases.find(id); it != self->state.leases.end()) {
              it->second.revoking = false;
            }
            RevokeResult r{storage::Error{storage::Errc::io_error, caf::to_string(err)}};
            done(r);
          });
}

// One expiry check: revokes the expired leases, soonest expiry first, at most
// `lease_revoke_rate` per second (etcd's lessor: 1000/s). Those still in flight count
// against the allowance. Calls done(n) once every revocation it started has finished (at
// once when it started none), n = how many of them revoked a lease.
template <class Done>
void revoke_expired(Self* self, Done done) {
  auto& st = self->state;
  const auto& opt = st.ctx->options;
  double per_check = static_cast<double>(opt.lease_revoke_rate) *
                     static_cast<double>(opt.lease_check_interval.count()) / 1000.0;
  st.revoke_credit = std::min(std::max(per_check, 1.0), st.revoke_credit + per_check);
  auto budget = static_cast<int64_t>(st.revoke_credit) - st.expiring;
  std::vector<int64_t> expired;
  auto now = st.clock->now();
  // Cluster mode: only the leader's lessor expires leases; a revocation is a write, which
  // a follower cannot make (docs/CLUSTER.md).
  if (!follow_leadership(st)) budget = 0;
  for (const auto& [expiry, id] : st.by_expiry) {
    if (expiry > now || static_cast<int64_t>(expired.size()) >= budget) break;
    if (!st.leases.at(id).revoking) expired.push_back(id);
  }
  st.revoke_credit -= static_cast<double>(expired.size());
  if (expired.empty()) {
    done(int64_t{0});
    return;
  }
  struct Pending {
    size_t left = 0;
    int64_t revoked = 0;
  };
  auto pending = std::make_shared<Pending>(Pending{expired.size(), 0});
  for (int64_t id : expired) {
    ++st.expiring;
    revoke(self, id, [self, pending, done](const RevokeResult& r) mutable {
      --self->state.expiring;
      if (r.ok()) {
        self->state.ctx->lease_expired_total.fetch_add(1);
        ++pending->revoked;
      }
      if (--pending->left == 0) done(pending->revoked);
    });
  }
}

using GrantResult = storage::Result<protocol::LeaseGrantResponse>;

// The record a grant writes, or etcd's refusal, in etcd's order: the TTL bound, then the id
// in use (granted, or being granted), then the minimum TTL.
storage::Result<storage::LeaseRecord> grant_record(LessorState& st,
                                                   const protocol::LeaseGrantRequest& r) {
  if (r.ttl > storage::kMaxLeaseTtl) return storage::Errc::lease_ttl_too_large;
  int64_t id = r.id == 0 ? pick_id(st) : r.id;
  if (st.leases.contains(id) || st.ctx->leases.exists(id) || st.granting.contains(id))
    return storage::Errc::lease_exists;
  return storage::LeaseRecord{id, std::max(r.ttl, st.ctx->options.min_lease_ttl), 0};
}

// The lease exists from now on: its record is in the store (durable as the sync mode
// promises) and its timer starts.
protocol::LeaseGrantResponse granted(LessorState& st, const storage::LeaseRecord& record) {
  // Cluster mode: the apply path's lease_applied_atom may have come first.
  if (!st.leases.contains(record.id))
    st.track(record.id, record.ttl, deadline(st.clock->now(), {}, record.ttl));
  st.ctx->lease_granted_total.fetch_add(1, std::memory_order_relaxed);
  return protocol::LeaseGrantResponse{st.header(), record.id, record.ttl};
}

// Cluster mode: the grant becomes a state-change entry every member applies (the record in
// its store and lease table, the lessor told: apps/revkvd/replica.cpp), so that whichever
// member leads next knows the lease. Proposed without waiting (ClusterLink::propose_then):
// the entries of concurrent grants are in the Raft log together and libraft appends and
// replicates them in one round, as a single node's grants share the commit group's fsync;
// the lessor answers keep-alives meanwhile. Answered once the entry is applied here (then
// the lease is in the store and the table; grant_settled_atom), or with why it was not. An
// entry whose proposal failed because leadership moved may still commit under the next
// leader, as in etcd: the client was told the outcome is unknown.
caf::result<GrantResult> propose_grant(Self* self, const protocol::LeaseGrantRequest& r) {
  auto& st = self->state;
  auto record = grant_record(st, r);
  if (!record.ok()) return GrantResult{record.error()};
  auto& link = *st.ctx->cluster;
  if (auto refused = leader_refusal(link))
    return GrantResult{storage::Error{storage::Errc::io_error, refused->message}};
  if (!link.propose_then)
    return GrantResult{storage::Error{storage::Errc::io_error, "etcdserver: no leader"}};
  const int64_t id = record->id;
  // Pending from before the proposal is made (a test or a scrape that sees the proposal sees
  // it counted); its outcome decrements it.
  link.proposals_pending.fetch_add(1);
  // The outcome comes as a message, handled after this one: the bookkeeping below is in place
  // by then even when the proposal is refused at once.
  link.propose_then(
      encode_state_change({link.member_id, link.incarnation, ChangeKind::lease,
                           storage::encode_lease_record(*record)}),
      [lessor = caf::actor_cast<caf::actor>(self), id](ClusterLink::Proposed outcome) {
        caf::anon_send(lessor, grant_settled_atom::value, id, !outcome.error,
                       outcome.error.value_or(std::string()));
      });
  st.granting.insert(id);
  auto answer = self->make_response_promise();
  st.proposed.emplace(id, LessorState::ProposedGrant{*record, answer});
  return answer;
}

// Cluster mode: the proposal of the grant of `id` was settled.
void grant_settled(Self* self, int64_t id, bool applied, const std::string& why_not) {
  auto& st = self->state;
  auto it = st.proposed.find(id);
  if (it == st.proposed.end()) return;
  auto grant = std::move(it->second);
  st.proposed.erase(it);
  st.granting.erase(id);
  auto& link = *st.ctx->cluster;
  link.proposals_pending.fetch_sub(1);
  if (!applied) {
    link.proposals_failed.fetch_add(1);
    grant.answer.deliver(GrantResult{storage::Error{storage::Errc::io_error, why_not}});
    return;
  }
  grant.answer.deliver(GrantResult{granted(st, grant.record)});
}

// A single node: the record goes to the backend actor as a write outside the revisions
// (write_atom: etcd's lease bucket is outside the MVCC history too). It joins the backend's
// next commit group and is synced with it, so concurrent grants, and the puts beside them,
// share one fsync; this actor never waits for the disk, and keeps answering keep-alives
// meanwhile. The grant is answered, and the lease exists, once the record is durable.
caf::result<GrantResult> grant(Self* self, const protocol::LeaseGrantRequest& r) {
  auto& st = self->state;
  auto record = grant_record(st, r);
  if (!record.ok()) return GrantResult{record.error()};
  auto batch = std::make_shared<storage::WriteBatch>(*st.ctx->backend);
  batch->put(storage::Column::lease, storage::encode_lease_key(record->id),
             storage::encode_lease_record(*record));
  st.granting.insert(record->id);
  auto rp = self->make_response_promise();
  self->request(st.backend, caf::infinite, write_atom::value, int64_t{0}, std::move(batch))
      .then(
          [self, rp, record = *record](int64_t) mutable {
            auto& st = self->state;
            st.granting.erase(record.id);
            st.ctx->leases.put(record);
            rp.deliver(GrantResult{granted(st, record)});
          },
          [self, rp, id = record->id](caf::error& err) mutable {
            // The request found the backend actor gone (the node is stopping): nothing was
            // written for it. (A backend that dies holding the batch answers nothing; the
            // node's failure answers the door's request then.)
            self->state.granting.erase(id);
            rp.deliver(GrantResult{
                storage::Error{storage::Errc::io_error, "lease grant: " + caf::to_string(err)}});
          });
  return rp;
}

// The keys attached to `id`, asked from every shard (each owns its keyspace), sorted.
void attached_keys(Self* self, int64_t id, caf::response_promise rp,
                   protocol::LeaseTimeToLiveResponse out) {
  struct Gather {
    protocol::LeaseTimeToLiveResponse out;
    size_t remaining = 0;
    std::optional<caf::error> error;
  };
  auto gather = std::make_shared<Gather>();
  gather->out = std::move(out);
  gather->remaining = self->state.shards.size();
  auto finish = [gather, rp]() mutable {
    if (--gather->remaining > 0) return;
    if (gather->error) {
      rp.deliver(storage::Result<protocol::LeaseTimeToLiveResponse>{
          storage::Error{storage::Errc::io_error, caf::to_string(*gather->error)}});
      return;
    }
    std::sort(gather->out.keys.begin(), gather->out.keys.end());
    rp.deliver(storage::Result<protocol::LeaseTimeToLiveResponse>{std::move(gather->out)});
  };
  for (const auto& shard : self->state.shards) {
    self->request(shard, caf::infinite, lease_keys_atom::value, id)
        .then(
            [gather, finish](std::vector<std::string>& keys) mutable {
              auto& all = gather->out.keys;
              all.insert(all.end(), std::make_move_iterator(keys.begin()),
                         std::make_move_iterator(keys.end()));
              finish();
            },
            [gather, finish](caf::error& err) mutable {
              if (!gather->error) gather->error = std::move(err);
              finish();
            });
  }
}

}  // namespace

caf::behavior lessor_actor(Self* self, NodeContextPtr ctx, std::vector<caf::actor> shards,
                           caf::actor coordinator, caf::actor backend,
                           std::vector<storage::LeaseRecord> restored, ClockPtr clock);

caf::actor spawn_lessor_actor(caf::actor_system& sys, NodeContextPtr ctx,
                              std::vector<caf::actor> shards, caf::actor coordinator,
                              caf::actor backend, std::vector<storage::LeaseRecord> restored,
                              ClockPtr clock) {
  if (!clock) clock = util::real_clock();
  // Detached: a thread of its own (revkv.lessor), so that lease timing — keep-alives and the
  // expiry checks — never queues behind the request path's work on the scheduler's threads.
  return sys.spawn<caf::detached>(lessor_actor, std::move(ctx), std::move(shards),
                                  std::move(coordinator), std::move(backend), std::move(restored),
                                  std::move(clock));
}

caf::behavior lessor_actor(Self* self, NodeContextPtr ctx, std::vector<caf::actor> shards,
                           caf::actor coordinator, caf::actor backend,
                           std::vector<storage::LeaseRecord> restored, ClockPtr clock) {
  name_this_thread("revkv.lessor");  // detached: this is its own thread
  auto& st = self->state;
  st.ctx = std::move(ctx);
  st.clock = std::move(clock);
  st.shards = std::move(shards);
  st.coordinator = std::move(coordinator);
  st.backend = std::move(backend);
  st.next_id = first_id();
  // A restart forgets the time that had passed: a full TTL again (or the checkpointed
  // remaining TTL, if one was ever written), plus the extension (SPEC §8.8).
  auto now = st.clock->now();
  for (const auto& r : restored) {
    int64_t ttl = r.remaining_ttl > 0 ? r.remaining_ttl : r.ttl;
    st.track(r.id, r.ttl, deadline(now, st.ctx->options.lease_restart_extension, ttl));
  }
  // The periodic check; with a manual clock the test sends the checks (expire_atom).
  if (!st.clock->manual()) {
    self->delayed_send(self, st.ctx->options.lease_check_interval, caf::tick_atom::value);
  }

  using RevokeReply = storage::Result<protocol::LeaseRevokeResponse>;
  using KeepAliveResult = storage::Result<protocol::LeaseKeepAliveResponse>;
  using TtlResult = storage::Result<protocol::LeaseTimeToLiveResponse>;
  using LeasesResult = storage::Result<protocol::LeaseLeasesResponse>;
  return {
      [self](const protocol::LeaseGrantRequest& r) -> caf::result<GrantResult> {
        if (self->state.ctx->cluster) return propose_grant(self, r);
        return grant(self, r);
      },
      [self](const protocol::LeaseRevokeRequest& r) -> caf::result<RevokeReply> {
        if (!self->state.leases.contains(r.id)) return RevokeReply{storage::Errc::lease_not_found};
        auto rp = self->make_response_promise();
        revoke(self, r.id, [self, rp](const RevokeResult& out) mutable {
          if (!out.ok()) {
            rp.deliver(RevokeReply{out.error()});
            return;
          }
          rp.deliver(
              RevokeReply{protocol::LeaseRevokeResponse{self->state.ctx->header(out->revision)}});
        });
        return rp;
      },
      [self](const protocol::LeaseKeepAliveRequest& r) -> caf::result<KeepAliveResult> {
        auto& st = self->state;
        follow_leadership(st);
        auto header = st.header();  // before the renewal (etcd)
        auto it = st.leases.find(r.id);
        if (it == st.leases.end())
          return KeepAliveResult{protocol::LeaseKeepAliveResponse{header, r.id, 0}};
        auto now = st.clock->now();
        if (it->second.revoking || it->second.expiry <= now) {
          // Expired but not revoked yet: revoke it first (counted as an expiry, as etcd's
          // expiry loop would have), then report it gone. Already being revoked: the
          // coordinator answers this second revocation after the first one.
          bool expired_here = !it->second.revoking;
          auto rp = self->make_response_promise();
          revoke(self, r.id,
                 [self, rp, header, id = r.id, expired_here](const RevokeResult& out) mutable {
                   if (out.ok() && expired_here) self->state.ctx->lease_expired_total.fetch_add(1);
                   if (!out.ok() && out.error().code() != storage::Errc::lease_not_found) {
                     rp.deliver(KeepAliveResult{out.error()});
                     return;
                   }
                   rp.deliver(KeepAliveResult{protocol::LeaseKeepAliveResponse{header, id, 0}});
                 });
          return rp;
        }
        st.renew(it, deadline(now, {}, it->second.ttl));
        st.ctx->lease_renewed_total.fetch_add(1, std::memory_order_relaxed);
        return KeepAliveResult{protocol::LeaseKeepAliveResponse{header, r.id, it->second.ttl}};
      },
      [self](const protocol::LeaseTimeToLiveRequest& r) -> caf::result<TtlResult> {
        auto& st = self->state;
        follow_leadership(st);
        protocol::LeaseTimeToLiveResponse out{st.header(), r.id, -1, 0, {}};
        auto it = st.leases.find(r.id);
        if (it == st.leases.end()) return TtlResult{std::move(out)};
        out.ttl = remaining_seconds(it->second, st.clock->now());
        out.granted_ttl = it->second.ttl;
        if (!r.keys) return TtlResult{std::move(out)};
        auto rp = self->make_response_promise();
        attached_keys(self, r.id, rp, std::move(out));
        return rp;
      },
      [self](const protocol::LeaseLeasesRequest&) -> LeasesResult {
        auto& st = self->state;
        protocol::LeaseLeasesResponse out{st.header(), {}};
        out.leases.reserve(st.by_expiry.size());
        for (const auto& [expiry, id] : st.by_expiry)
          out.leases.push_back(protocol::LeaseStatus{id});
        return out;
      },
      // Cluster mode: a grant applied here (every member; on the proposer the grant itself
      // usually tracked it first).
      [self](lease_applied_atom, int64_t id, int64_t ttl) {
        auto& st = self->state;
        if (!st.leases.contains(id)) st.track(id, ttl, deadline(st.clock->now(), {}, ttl));
      },
      [self](grant_settled_atom, int64_t id, bool applied, const std::string& why_not) {
        grant_settled(self, id, applied, why_not);
      },
      // Cluster mode: another member's revocation removed the record here.
      [self](lease_gone_atom, int64_t id) { self->state.forget(id); },
      [self](caf::tick_atom) {
        revoke_expired(self, [](int64_t) {});
        self->delayed_send(self, self->state.ctx->options.lease_check_interval,
                           caf::tick_atom::value);
      },
      // A check asked for (a test's, after advancing a manual clock): answered once the
      // revocations it started are done, with how many leases it revoked.
      [self](expire_atom) -> caf::result<int64_t> {
        auto rp = self->make_response_promise<int64_t>();
        revoke_expired(self, [rp](int64_t revoked) mutable { rp.deliver(revoked); });
        return rp;
      },
  };
}

}  // namespace revkv::actors
