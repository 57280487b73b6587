#include "actors/maintenance_actor.hpp"

#include "actors/alarm_effect.hpp"
#include "actors/cluster_gate.hpp"
#include "actors/fatal.hpp"
#include "actors/messages.hpp"
#include "actors/snapshot_source.hpp"
#include "actors/state_change.hpp"
#include "actors/thread_names.hpp"
#include "storage/history.hpp"

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <deque>
#include <functional>
#include <set>

namespace revkv::actors {

struct MaintenanceState {
  MaintenanceState() = default;  // not an aggregate: CAF would build it from `self` (C++20)
  static inline const char* name = "maintenance";

  struct StoredHash {
    int64_t revision = 0;
    int64_t previous = -1;
    uint32_t hash = 0;
  };

  NodeContextPtr ctx;
  std::vector<caf::actor> shards;
  caf::actor watch_hub;
  caf::actor backend;
  // Cluster mode: compactions other members proposed, applied here (log order), waiting for
  // W to reach their revisions; whether the backend was asked to tell when it has.
  std::deque<int64_t> followed;
  bool follow_asked = false;
  // Periodic auto-compaction: (when, watermark) samples, oldest first.
  std::deque<std::pair<std::chrono::steady_clock::time_point, int64_t>> samples;
  std::optional<storage::CompactionJob> job;
  std::chrono::steady_clock::time_point job_started;  // when the index compaction began
  std::vector<std::function<void(storage::Result<storage::CompactResponse>)>>
      physical_waiters;           // physical compactions, answered when the job is done
  std::deque<StoredHash> hashes;  // the last 10 compaction hashes
  // Cluster mode: followers' waits for a change they forwarded to show here
  // (applied_here_atom, actors/applied_here.hpp), each with the time it ends.
  struct AppliedWait {
    std::function<bool(const NodeContext&)> reached;
    std::chrono::steady_clock::time_point until;
    caf::response_promise rp;
  };
  std::vector<AppliedWait> applied_waits;
};

namespace {

using Self = caf::stateful_actor<MaintenanceState>;
constexpr size_t kKeptCompactionHashes = 10;

// Collects the keep sets of shards [i, n) at `at` (compacting their index first when
// `compact`), then calls `done`. `await` keeps other maintenance requests waiting.
void collect_keep(Self* self, size_t i, bool compact, int64_t at, std::set<storage::Revision> keep,
                  std::function<void(std::set<storage::Revision>)> done) {
  if (i == self->state.shards.size()) {
    done(std::move(keep));
    return;
  }
  auto next = [self, i, compact, at, keep = std::move(keep), done](KeepSet& part) mutable {
    keep.insert(part.begin(), part.end());
    collect_keep(self, i + 1, compact, at, std::move(keep), std::move(done));
  };
  // A shard that stopped as the node stops ends the work here (a compaction's schedule is
  // durable: it resumes at the next start).
  auto on_error = [self](caf::error& err) {
    fatal_unless_stopped("a shard's keep set", err, self->state.ctx->stopping.load());
  };
  if (compact) {
    self->request(self->state.shards[i], caf::infinite, compact_atom::value, at)
        .await(std::move(next), on_error);
  } else {
    self->request(self->state.shards[i], caf::infinite, keep_atom::value, at)
        .await(std::move(next), on_error);
  }
}

// Answers the applied-here waits whose change this member's state shows now (true), or
// whose time is up (false).
void settle_applied_waits(MaintenanceState& st) {
  auto now = std::chrono::steady_clock::now();
  auto& waits = st.applied_waits;
  for (auto it = waits.begin(); it != waits.end();) {
    if (it->reached(*st.ctx)) {
      it->rp.deliver(true);
    } else if (it->until <= now) {
      it->rp.deliver(false);
    } else {
      ++it;
      continue;
    }
    it = waits.erase(it);
  }
}

caf::result<bool> wait_applied_here(Self* self, std::function<bool(const NodeContext&)> reached,
                                    caf::timespan patience) {
  auto& st = self->state;
  if (reached(*st.ctx)) return true;
  auto rp = self->make_response_promise();
  st.applied_waits.push_back({std::move(reached), std::chrono::steady_clock::now() + patience, rp});
  self->delayed_send(self, patience, applied_here_atom::value);
  return rp;
}

// One bounded batch of the running compaction; true when it is finished.
bool step(Self* self) {
  auto& st = self->state;
  if (!st.job) return true;
  auto started = std::chrono::steady_clock::now();
  auto done = st.job->step(*st.ctx->backend, st.ctx->options.compaction_batch_limit);
  if (!done.ok()) fatal(done.error().message());
  if (auto* m = st.ctx->metrics.get()) {
    auto now = std::chrono::steady_clock::now();
    m->compaction_batch(std::chrono::duration<double>(now - started).count());
    if (*done) {
      m->compaction_finished(std::chrono::duration<double>(now - st.job_started).count(),
                             st.job->removed());
    }
  }
  if (!*done) return false;
  st.ctx->finished_compact_revision.store(st.job->revision());
  settle_applied_waits(st);
  if (!st.job->resumed()) {
    st.hashes.push_back({st.job->revision(), st.job->previous(), st.job->hash()});
    if (st.hashes.size() > kKeptCompactionHashes) st.hashes.pop_front();
  }
  st.job.reset();
  auto waiters = std::move(st.physical_waiters);
  st.physical_waiters.clear();
  for (auto& reply : waiters)
    reply(storage::CompactResponse{st.ctx->watermark.load()});
  return true;
}

void finish_job_now(Self* self) {
  while (!step(self)) {
  }
}

// Compacts every shard's index at `revision` and starts the physical job. First the watch
// hub must have fanned out every revision up to `revision` (they are durable, so it has
// been told): a synced watcher then has them before any is deleted.
void start_compaction(Self* self, int64_t revision, bool resumed, std::function<void()> started) {
  auto& st = self->state;
  int64_t previous = st.ctx->compact_revision.load();
  st.ctx->compact_revision.store(revision);
  settle_applied_waits(st);
  st.job_started = std::chrono::steady_clock::now();
  auto compact_shards = [self, revision, previous, resumed, started] {
    collect_keep(self, 0, /*compact=*/true, revision, {},
                 [self, revision, previous, resumed, started](std::set<storage::Revision> keep) {
                   self->state.job.emplace(revision, previous, std::move(keep), resumed);
                   self->send(self, step_atom::value);
                   started();
                 });
  };
  self->request(st.watch_hub, caf::infinite, watch_sync_atom::value)
      .await([compact_shards](bool) { compact_shards(); },
             [compact_shards](caf::error&) { compact_shards(); });  // stopping: no watchers
}

using CompactResult = storage::Result<storage::CompactResponse>;

// Proposes the compaction at `revision` and blocks this (detached) actor until it is applied
// here. Its log index, or the error when it was not replicated.
storage::Result<uint64_t> replicate_compaction(const NodeContext& ctx, int64_t revision) {
  auto& link = *ctx.cluster;
  if (auto refused = leader_refusal(link))
    return storage::Error{storage::Errc::io_error, refused->message};
  if (!link.propose) return storage::Error{storage::Errc::io_error, "etcdserver: no leader"};
  link.proposals_pending.fetch_add(1);
  auto proposed =
      link.propose(encode_state_change({link.member_id, link.incarnation, ChangeKind::compaction,
                                        encode_compaction_payload(revision)}));
  link.proposals_pending.fetch_sub(1);
  if (!proposed.error) return proposed.index;
  link.proposals_failed.fetch_add(1);
  return storage::Error{storage::Errc::io_error, *proposed.error};
}

// Cluster mode: proposes the NOSPACE alarm's new state and blocks this (detached) actor
// until every member's copy is in the log and this one applied it (which publishes it in
// memory: apps/revkvd/replica.cpp). The error when it was not replicated.
std::optional<storage::Error> replicate_alarm(const NodeContext& ctx, AlarmChange change) {
  auto& link = *ctx.cluster;
  if (auto refused = leader_refusal(link))
    return storage::Error{storage::Errc::io_error, refused->message};
  if (!link.propose) return storage::Error{storage::Errc::io_error, "etcdserver: no leader"};
  link.proposals_pending.fetch_add(1);
  auto proposed = link.propose(encode_state_change(
      {link.member_id, link.incarnation, ChangeKind::alarm, encode_alarm_payload(change)}));
  link.proposals_pending.fetch_sub(1);
  if (!proposed.error) return std::nullopt;
  link.proposals_failed.fetch_add(1);
  return storage::Error{storage::Errc::io_error, *proposed.error};
}

// Raises (member != 0) or clears the NOSPACE alarm: written here on a single node, through
// the log in cluster mode.
storage::Status set_alarm(NodeContext& ctx, bool raised, uint64_t member) {
  if (!ctx.cluster) return ctx.set_nospace_alarm(raised);
  auto failed = replicate_alarm(ctx, {raised, raised ? member : 0});
  if (!failed) return {};
  // A quota check may have raised the flag in memory ahead of its entry: back to what the
  // log says (an entry of unknown outcome that commits later sets it when applied).
  ctx.nospace_alarm.store(ctx.nospace_alarm_member.load() != 0);
  return *failed;
}

// Cluster mode: starts the next compaction another member proposed (applied here, in log
// order) once W reached its revision. Its revisions were applied before it, but W may not
// have reached them yet (the backend actor moves it on a message of its own): the backend
// tells this actor when it has, so the watch hub was told, and meanwhile this actor serves
// everything else. One start per turn: a start awaits the watch hub and the shards, and the
// next one is a message to itself, taken once that is done.
void follow_next(Self* self) {
  auto& st = self->state;
  while (!st.followed.empty() && st.followed.front() <= st.ctx->compact_revision.load())
    st.followed.pop_front();  // replayed after a restart, or passed by this member's own
  if (st.followed.empty()) return;
  const int64_t revision = st.followed.front();
  if (st.ctx->watermark.load() >= revision) {
    st.followed.pop_front();
    finish_job_now(self);
    start_compaction(self, revision, /*resumed=*/false, [] {});
    if (!st.followed.empty()) self->send(self, replicated_compact_atom::value);
    return;
  }
  if (st.follow_asked) return;
  st.follow_asked = true;
  self->request(st.backend, caf::infinite, wait_atom::value, revision)
      .then(
          [self](int64_t) {
            self->state.follow_asked = false;
            follow_next(self);
          },
          // The backend is gone: this member is stopping, and nothing is asked again.
          [self](caf::error&) { self->state.follow_asked = false; });
}

// KV.Compact: validate, persist the schedule, compact every shard's index, start the
// physical job; `reply` gets the answer (at once, or when the job is done if physical).
void compact(Self* self, int64_t revision, bool physical,
             std::function<void(CompactResult)> reply) {
  auto& st = self->state;
  // A compaction another member proposed counts once this actor has taken the apply's
  // message, though it waits for W to start (follow_next): etcd's member compacts at apply.
  const int64_t compacted =
      std::max(st.ctx->compact_revision.load(), st.followed.empty() ? -1 : st.followed.back());
  if (revision <= compacted) return reply(storage::Errc::compacted);
  if (revision > st.ctx->watermark.load()) return reply(storage::Errc::future_revision);
  finish_job_now(self);  // one compaction at a time
  if (st.ctx->cluster) {
    // Cluster mode: the schedule is a state-change entry every member applies (writing it
    // with the applied index) and then compacts at; this member runs its own below.
    auto index = replicate_compaction(*st.ctx, revision);
    if (!index.ok()) return reply(index.error());
    // Another leader's compaction at this revision or later may have come first in the
    // log: the apply then skipped this entry (apps/revkvd/replica.cpp), which changed
    // nothing, as etcd's apply answers it.
    if (st.ctx->cluster->own_compaction_skipped_at.load() == *index)
      return reply(storage::Errc::compacted);
  } else {
    auto persisted = storage::persist_compaction_schedule(*st.ctx->backend, revision);
    if (!persisted.ok()) fatal(persisted.error().message());
  }
  start_compaction(self, revision, /*resumed=*/false, [self, physical, reply]() {
    if (physical) {
      self->state.physical_waiters.push_back(reply);
    } else {
      reply(storage::CompactResponse{self->state.ctx->watermark.load()});
    }
  });
}

// The auto-compaction target now, or nullopt (etcd's periodic and revision modes).
std::optional<int64_t> auto_compaction_target(Self* self) {
  auto& st = self->state;
  const auto& ac = st.ctx->options.auto_compaction;
  int64_t w = st.ctx->watermark.load();
  if (ac.mode == AutoCompaction::Mode::revision) {
    int64_t target = w - ac.revisions;
    if (target > st.ctx->compact_revision.load() && target > 0) return target;
    return std::nullopt;
  }
  // periodic: the newest sample at least `period` old is what may go.
  auto now = std::chrono::steady_clock::now();
  st.samples.emplace_back(now, w);
  std::optional<int64_t> target;
  while (!st.samples.empty() && now - st.samples.front().first >= ac.period) {
    target = st.samples.front().second;
    st.samples.pop_front();
  }
  if (target && *target > st.ctx->compact_revision.load()) return target;
  return std::nullopt;
}

std::chrono::milliseconds auto_compaction_tick(const AutoCompaction& ac) {
  if (ac.mode == AutoCompaction::Mode::revision) return ac.revision_check_interval;
  // Sample ten times per retention period, like etcd, but at least every second.
  return std::max(std::chrono::milliseconds(1000), ac.period / 10);
}

}  // namespace

caf::behavior maintenance_actor(Self* self, NodeContextPtr ctx, std::vector<caf::actor> shards,
                                caf::actor watch_hub, caf::actor backend,
                                std::optional<int64_t> unfinished_compaction);

caf::actor spawn_maintenance_actor(caf::actor_system& sys, NodeContextPtr ctx,
                                   std::vector<caf::actor> shards, caf::actor watch_hub,
                                   caf::actor backend,
                                   std::optional<int64_t> unfinished_compaction) {
  return sys.spawn<caf::detached>(maintenance_actor, std::move(ctx), std::move(shards),
                                  std::move(watch_hub), std::move(backend), unfinished_compaction);
}

caf::behavior maintenance_actor(Self* self, NodeContextPtr ctx, std::vector<caf::actor> shards,
                                caf::actor watch_hub, caf::actor backend,
                                std::optional<int64_t> unfinished_compaction) {
  name_this_thread("revkv.maint");  // detached: this is its own thread
  self->state.ctx = ctx;
  self->state.shards = std::move(shards);
  self->state.watch_hub = std::move(watch_hub);
  self->state.backend = std::move(backend);
  if (ctx->options.auto_compaction.enabled()) {
    self->delayed_send(self, auto_compaction_tick(ctx->options.auto_compaction),
                       caf::tick_atom::value);
  }
  if (unfinished_compaction) {
    // SPEC §6 step 5: a compaction that was scheduled but not finished is run again.
    start_compaction(self, *unfinished_compaction, /*resumed=*/true, [] {});
  }
  return {
      [self](const protocol::CompactionRequest& r) -> caf::result<CompactResult> {
        auto rp = self->make_response_promise();
        compact(self, r.revision, r.physical,
                [rp](CompactResult out) mutable { rp.deliver(std::move(out)); });
        return rp;
      },
      [self](caf::tick_atom) {
        const auto& ac = self->state.ctx->options.auto_compaction;
        // Cluster mode: the leader's schedule compacts every member (docs/CLUSTER.md).
        const auto* link = self->state.ctx->cluster.get();
        bool may = link == nullptr || link->leader.load();
        if (auto target = auto_compaction_target(self); target && may) {
          spdlog::info("auto-compaction at revision {}", *target);
          compact(self, *target, /*physical=*/false, [](const CompactResult&) {});
        }
        self->delayed_send(self, auto_compaction_tick(ac), caf::tick_atom::value);
      },
      [self](replicated_compact_atom, int64_t revision) {
        self->state.followed.push_back(revision);
        follow_next(self);
      },
      [self](replicated_compact_atom) { follow_next(self); },
      [self](applied_here_atom, int64_t revision, bool physical,
             caf::timespan patience) -> caf::result<bool> {
        return wait_applied_here(
            self,
            [revision, physical](const NodeContext& ctx) {
              const auto& reached = physical ? ctx.finished_compact_revision : ctx.compact_revision;
              return reached.load() >= revision;
            },
            patience);
      },
      [self](applied_here_atom, bool raised, caf::timespan patience) -> caf::result<bool> {
        // The copy applied from the log names its member; the flag alone may be a leader's
        // quota check ahead of its entry.
        return wait_applied_here(
            self,
            [raised](const NodeContext& ctx) {
              return (ctx.nospace_alarm_member.load() != 0) == raised;
            },
            patience);
      },
      [self](applied_here_atom) { settle_applied_waits(self->state); },  // a wait's time is up
      [self](alarm_applied_atom) { settle_applied_waits(self->state); },
      [self](step_atom) {
        if (!step(self)) self->send(self, step_atom::value);  // let other requests in between
      },
      [self](const protocol::HashKVRequest& r)
          -> caf::result<storage::Result<protocol::HashKVResponse>> {
        auto& st = self->state;
        using R = storage::Result<protocol::HashKVResponse>;
        int64_t w = st.ctx->watermark.load();
        if (r.revision != 0) {
          for (const auto& h : st.hashes) {
            if (h.revision == r.revision) {
              return R{protocol::HashKVResponse{st.ctx->header(w), h.hash, h.previous, h.revision}};
            }
          }
        }
        int64_t compact = st.ctx->compact_revision.load();
        if (r.revision > 0 && r.revision < compact) return R{storage::Errc::compacted};
        if (r.revision > w) return R{storage::Errc::future_revision};
        // Only 0 means the current revision, as etcd's HashByRev: a negative one hashes no
        // record (the seed alone), reported at that revision, as etcd 3.5's hash_revision.
        int64_t at = r.revision == 0 ? w : r.revision;
        auto rp = self->make_response_promise();
        collect_keep(
            self, 0, /*compact=*/false, at, {},
            [self, rp, at, compact, w](std::set<storage::Revision> keep) mutable {
              auto hash = storage::compute_hash(*self->state.ctx->backend, at, compact, keep);
              if (!hash.ok()) {
                rp.deliver(R{hash.error()});
                return;
              }
              rp.deliver(
                  R{protocol::HashKVResponse{self->state.ctx->header(w), *hash, compact, at}});
            });
        return rp;
      },
      // etcd's Hash hashes its whole bbolt file; this hashes the whole backend. The scan
      // runs here, not on a shard: writes go on meanwhile and the snapshot is consistent,
      // but a write in flight may be in the hash and not yet in the header's revision
      // (etcd documents its Hash as a test tool for a quiet store, too).
      [self](const protocol::HashRequest&) -> storage::Result<protocol::HashResponse> {
        auto& ctx = *self->state.ctx;
        int64_t w = ctx.watermark.load();
        auto hash = ctx.backend->hash_all();
        if (!hash.ok()) return hash.error();
        return protocol::HashResponse{ctx.header(w), *hash};
      },
      [self](const protocol::StatusRequest&) -> storage::Result<protocol::StatusResponse> {
        auto& ctx = *self->state.ctx;
        auto size = ctx.backend->size();
        if (!size.ok()) return size.error();
        protocol::StatusResponse out;
        int64_t w = ctx.watermark.load();
        out.header = ctx.header(w);
        out.version = "revkv 0.1.0";
        out.db_size = static_cast<int64_t>(size->total_bytes);
        out.db_size_in_use = static_cast<int64_t>(size->in_use_bytes);
        out.leader = ctx.member_id;
        out.raft_index = static_cast<uint64_t>(w);
        out.raft_term = ctx.raft_term;
        if (const auto* link = ctx.cluster.get()) {
          // Cluster mode: the Raft member's view (0: no known leader).
          out.leader = link->leader_id.load();
          out.raft_index = link->applied_index.load();
          out.raft_term = link->term.load();
          // etcd's Status names a missing leader first among its errors.
          if (out.leader == 0) out.errors.push_back("etcdserver: no leader");
        }
        // etcd writes each alarm with gogoproto's CompactTextString: a blank after each field.
        if (ctx.nospace_alarm.load())
          out.errors.push_back("memberID:" + std::to_string(ctx.nospace_alarm_owner()) +
                               " alarm:NOSPACE ");
        out.shards = static_cast<int64_t>(ctx.options.shards);
        out.compact_revision = ctx.compact_revision.load();
        return out;
      },
      [self](const protocol::DefragmentRequest&) -> storage::Result<protocol::DefragmentResponse> {
        auto& ctx = *self->state.ctx;
        auto status = ctx.backend->defragment();
        if (!status.ok()) return status.error();
        if (auto size = ctx.backend->size(); size.ok()) {
          ctx.db_size.store(static_cast<int64_t>(size->total_bytes));
        }
        return protocol::DefragmentResponse{ctx.header(ctx.watermark.load())};
      },
      // Only the checkpoint is made here (a flush and hard links); the door's request path
      // reads the tar from it as its client takes the chunks (actors/snapshot_source.hpp).
      [self](const protocol::SnapshotRequest&) -> storage::Result<SnapshotSourcePtr> {
        finish_job_now(self);  // a running physical compaction would only be half in the copy
        return SnapshotSource::make(*self->state.ctx);
      },
      [self](const protocol::AlarmRequest& r) -> storage::Result<protocol::AlarmResponse> {
        auto& ctx = *self->state.ctx;
        const auto effect = alarm_effect(r);
        if (effect == AlarmEffect::raise) {
          // The member the request names (the leader's own id when its quota raised it);
          // etcd's clients name none, and then it is this member.
          auto s = set_alarm(ctx, true, r.member_id != 0 ? r.member_id : ctx.member_id);
          if (!s.ok()) return s.error();
        } else if (effect == AlarmEffect::clear) {
          bool was_raised = ctx.nospace_alarm.load();
          uint64_t owner = ctx.nospace_alarm_owner();
          auto s = set_alarm(ctx, false, 0);
          if (!s.ok()) return s.error();
          // etcd answers a DEACTIVATE with the alarm it cleared (none if nothing was
          // raised); clientv3's AlarmDisarm and `etcdctl alarm disarm` print that.
          protocol::AlarmResponse out;
          out.header = ctx.header(ctx.watermark.load());
          if (was_raised) out.alarms.push_back({owner, protocol::AlarmType::nospace});
          return out;
        }
        protocol::AlarmResponse out;
        out.header = ctx.header(ctx.watermark.load());
        if (ctx.nospace_alarm.load() && lists_nospace(r))
          out.alarms.push_back({ctx.nospace_alarm_owner(), protocol::AlarmType::nospace});
        return out;
      },
  };
}

}  // namespace revkv::actors
