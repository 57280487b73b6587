#include "actors/backend_actor.hpp"

#include "actors/fatal.hpp"
#include "actors/leadership_drain.hpp"
#include "actors/messages.hpp"
#include "actors/replicated_entry.hpp"
#include "actors/thread_names.hpp"

#include <caf/all.hpp>

#include <algorithm>
#include <chrono>
#include <map>
#include <utility>
#include <vector>

namespace revkv::actors {

using Clock = std::chrono::steady_clock;

struct BackendState {
  BackendState() = default;  // not an aggregate: CAF would build it from `self` (C++20)
  static inline const char* name = "backend";

  NodeContextPtr ctx;
  int64_t written = 0;               // highest revision written to RocksDB
  int64_t durable = 0;               // the watermark W
  std::map<int64_t, BatchPtr> held;  // waiting for the next group write
  std::multimap<int64_t, caf::response_promise> waiters;
  // Waits that end on their own (a follower's for a write it forwarded): each answered with
  // W once W reaches its revision, or once its time is up (looked at with the idle check),
  // so that a member cut off from the log keeps only a bounded number.
  struct Bounded {
    Clock::time_point until;
    caf::response_promise rp;
  };
  std::multimap<int64_t, Bounded> bounded;
  std::multimap<int64_t, caf::actor> notify;  // doors told (durable_atom, W)
  // write_atom batches for the next group, with the revision W must reach before each one
  // is answered.
  struct Unrevisioned {
    BatchPtr batch;
    int64_t after = 0;
    caf::response_promise rp;
  };
  std::vector<Unrevisioned> unrevisioned;
  // all_durable_atom answers held for the next group, because write_atom batches received
  // before them were still pending: with the W each one also waits for.
  std::vector<std::pair<int64_t, caf::response_promise>> after_group;
  bool flush_scheduled = false;
  caf::actor hub;  // told each time the watermark moves
  // The quota reads ctx->db_size; a RocksDB property lookup per group would cost more
  // than the write, so it is refreshed after enough bytes or time.
  uint64_t bytes_since_size = 0;
  Clock::time_point size_read_at{};
};

namespace {

using Self = caf::stateful_actor<BackendState>;

constexpr uint64_t kSizeRefreshBytes = 1 << 20;
// How often the backend looks for an idle store's overwritten `latest` records: a second
// without writes is idle enough, and one property read per second costs nothing.
constexpr auto kIdleCheckInterval = std::chrono::seconds(1);
constexpr auto kSizeRefreshInterval = std::chrono::seconds(1);

void refresh_size(BackendState& st, bool force) {
  auto now = Clock::now();
  int64_t quota = st.ctx->options.quota_backend_bytes;
  uint64_t bytes = kSizeRefreshBytes;
  if (quota > 0) bytes = std::min<uint64_t>(bytes, static_cast<uint64_t>(quota) / 16);
  if (!force && st.bytes_since_size < bytes && now - st.size_read_at < kSizeRefreshInterval) return;
  st.bytes_since_size = 0;
  st.size_read_at = now;
  if (auto size = st.ctx->backend->size(); size.ok()) {
    st.ctx->db_size.store(static_cast<int64_t>(size->total_bytes));
  }
}

// Everything written is now durable (or, without --sync always, written): the watermark
// moves to it. The watch hub hears of it before any acknowledgement leaves, so a watch
// created after an acknowledged write never sees that write as news.
void release(Self* self) {
  auto& st = self->state;
  if (st.written <= st.durable) return;
  if (st.ctx->metrics) st.ctx->metrics->commit_batch(st.written - st.durable);
  st.durable = st.written;
  // The hub first: once an actor can see the watermark at W (a compaction up to W, a
  // watch sync), durable(W) is already in the hub's mailbox.
  if (st.hub) self->send(st.hub, durable_atom::value, st.durable);
  // The hub may have stored this W already (it raises W before it publishes). A plain store
  // is safe: st.durable only grows, and the hub only knows values this actor sent it.
  st.ctx->watermark.store(st.durable);
  if (st.ctx->cluster) st.ctx->cluster->watermark_moved();
  refresh_size(st, false);
  auto end = st.waiters.upper_bound(st.durable);
  for (auto it = st.waiters.begin(); it != end; ++it)
    it->second.deliver(st.durable);
  st.waiters.erase(st.waiters.begin(), end);
  auto reached = st.bounded.upper_bound(st.durable);
  for (auto it = st.bounded.begin(); it != reached; ++it)
    it->second.rp.deliver(st.durable);
  st.bounded.erase(st.bounded.begin(), reached);
  // One notice per door, however many of its writes this group holds.
  auto last = st.notify.upper_bound(st.durable);
  std::vector<caf::actor> doors;
  for (auto it = st.notify.begin(); it != last; ++it)
    doors.push_back(std::move(it->second));
  st.notify.erase(st.notify.begin(), last);
  std::sort(doors.begin(), doors.end());
  doors.erase(std::unique(doors.begin(), doors.end()), doors.end());
  for (const auto& door : doors)
    self->send(door, durable_atom::value, st.durable);
}

// Writes (and, with `sync`, syncs the WAL) timing it: a group's write is the backend
// commit (revkv_backend_commit_duration_seconds); when it carries the sync, its time is
// also the fsync's (revkv_disk_wal_fsync_duration_seconds; the whole write's time,
// dominated by the fsync). A sync alone is only an fsync.
template <class Write>
void timed_write(BackendState& st, bool sync, bool commit, Write write) {
  auto start = Clock::now();
  auto status = write();
  if (!status.ok()) fatal(status.error().message());
  if (!st.ctx->metrics) return;
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (sync) st.ctx->metrics->wal_fsync(seconds);
  if (commit) st.ctx->metrics->backend_commit(seconds);
}

// The write_atom batches are durable now: each is answered once W reaches its `after`.
void answer_unrevisioned(Self* self, std::vector<BackendState::Unrevisioned> written) {
  auto& st = self->state;
  for (auto& u : written) {
    if (u.after <= st.durable) {
      u.rp.deliver(st.durable);
    } else {
      st.waiters.emplace(u.after, std::move(u.rp));
    }
  }
}

// Cluster mode: the group becomes one Raft entry instead of a local write. The Raft member
// applies it on every member, this one included, as one RocksDB write with the applied index
// (apps/revkvd/replica.hpp), and `propose` returns once that happened here: the group is on
// a majority's disks, so no fsync of RocksDB is needed. Blocking this (detached) actor for
// the round trip is the group commit: batches arriving meanwhile form the next group, as
// they do during a single node's fsync. False: the group was not replicated and must not
// become visible.
bool replicate_group(BackendState& st, const storage::WriteBatch& group, int64_t last) {
  auto& link = *st.ctx->cluster;
  auto entry =
      encode_replicated_entry({link.member_id, link.incarnation, last, st.ctx->options.shards,
                               group.latest_new_keys(), group.data()});
  link.proposals_pending.fetch_add(1);
  auto start = Clock::now();
  auto error = link.propose(std::move(entry)).error;
  link.proposals_pending.fetch_sub(1);
  if (!error) {
    if (st.ctx->metrics) {
      st.ctx->metrics->backend_commit(std::chrono::duration<double>(Clock::now() - start).count());
    }
    return true;
  }
  link.proposals_failed.fetch_add(1);
  if (link.stopping.load()) return false;  // revkvd is stopping: nothing is answered any more
  // A removed leader stepping down: it never serves again, nothing to rebuild.
  if (link.removed.load())
    exit_removed("cluster: a commit group was not replicated (" + *error + ")", link.on_removed,
                 std::chrono::seconds(1));
  // Its shards already hold the group's records in their overlays, and its doors wait for
  // W: rather than undo that in place, the member starts again in this process and
  // recovers from RocksDB and the Raft log, as after a crash. First its doors answer what
  // waits with etcd's `leader changed` (the outcome of those writes is unknown: the entry
  // may still commit under the next leader). W never moved past what was applied, so
  // nothing of the group was visible, nor is it during the drain.
  answer_leader_changed_then_restart(*st.ctx,
                                     "cluster: a commit group was not replicated (" + *error + ")");
}

// Writes the contiguous prefix of held batches, and the write_atom batches, as one group.
void write_group(Self* self) {
  auto& st = self->state;
  bool sync = st.ctx->options.sync == SyncMode::always;
  auto side = std::exchange(st.unrevisioned, {});
  auto first = st.held.begin();
  BatchPtr group;
  int64_t last = st.written;
  if (first != st.held.end() && first->first == st.written + 1) {
    group = std::move(first->second);
    last = first->first;
    auto it = std::next(first);
    for (; it != st.held.end() && it->first == last + 1; ++it) {
      group->append(*it->second);
      last = it->first;
    }
    st.held.erase(first, it);
  }
  for (auto& u : side) {
    if (!group) {
      group = std::make_shared<storage::WriteBatch>(std::move(*u.batch));
    } else {
      group->append(*u.batch);
    }
  }
  if (group && st.ctx->cluster) {
    st.bytes_since_size += group->byte_size();
    if (!replicate_group(st, *group, last)) return;
    st.written = last;
  } else if (group) {
    st.bytes_since_size += group->byte_size();
    timed_write(st, sync, true, [&] { return st.ctx->backend->write(*group, sync); });
    st.written = last;
  } else if (st.ctx->cluster) {
    // Nothing to replicate; the Raft log holds everything written.
  } else if (sync && st.written > st.durable) {
    // Nothing to write; a wait may still be for revisions written but not yet synced.
    timed_write(st, true, false, [&] { return st.ctx->backend->sync_wal(); });
  }
  release(self);
  // A group of records without revisions (lease grants) does not move W, so release() did
  // not look at the store's size: the quota must see what they add too.
  if (!side.empty()) refresh_size(st, false);
  answer_unrevisioned(self, std::move(side));
  for (auto& [revision, rp] : std::exchange(st.after_group, {})) {
    if (revision <= st.durable) {
      rp.deliver(st.durable);
    } else {
      st.waiters.emplace(revision, std::move(rp));
    }
  }
}

void schedule_flush(Self* self) {
  auto& st = self->state;
  if (st.flush_scheduled) return;
  st.flush_scheduled = true;
  self->send(self, flush_atom::value);
}

// Answered once W >= revision (at once if it is already).
caf::result<int64_t> wait_for(Self* self, int64_t revision) {
  auto& st = self->state;
  if (revision <= st.durable) return st.durable;
  auto rp = self->make_response_promise();
  st.waiters.emplace(revision, rp);
  schedule_flush(self);
  return rp;
}

// The bounded waits whose time is up are answered with W as it is.
void expire_bounded(BackendState& st) {
  auto now = Clock::now();
  for (auto it = st.bounded.begin(); it != st.bounded.end();) {
    if (it->second.until <= now) {
      it->second.rp.deliver(st.durable);
      it = st.bounded.erase(it);
    } else {
      ++it;
    }
  }
}

void hold(Self* self, int64_t revision, BatchPtr batch) {
  self->state.held.emplace(revision, std::move(batch));
  schedule_flush(self);
}

}  // namespace

caf::behavior backend_actor(Self* self, NodeContextPtr ctx, int64_t start);

caf::actor spawn_backend_actor(caf::actor_system& sys, NodeContextPtr ctx, int64_t start) {
  return sys.spawn<caf::detached>(backend_actor, std::move(ctx), start);
}

caf::behavior backend_actor(Self* self, NodeContextPtr ctx, int64_t start) {
  name_this_thread("revkv.backend");  // detached: this is its own thread
  self->state.ctx = ctx;
  self->state.written = start;
  self->state.durable = self->state.written;
  if (ctx->options.sync == SyncMode::interval) {
    self->delayed_send(self, std::chrono::milliseconds(ctx->options.sync_interval_ms),
                       sync_atom::value);
  }
  self->delayed_send(self, kIdleCheckInterval, idle_atom::value);
  return {
      [self](commit_atom, int64_t revision, BatchPtr& batch) -> caf::result<int64_t> {
        auto rp = self->make_response_promise();
        self->state.waiters.emplace(revision, rp);
        hold(self, revision, std::move(batch));
        return rp;
      },
      [self](commit_atom, int64_t revision, BatchPtr& batch, caf::actor& door) {
        self->state.notify.emplace(revision, std::move(door));
        hold(self, revision, std::move(batch));
      },
      [self](wait_atom, int64_t revision) -> caf::result<int64_t> {
        return wait_for(self, revision);
      },
      [self](wait_atom, int64_t revision, caf::timespan patience) -> caf::result<int64_t> {
        auto& st = self->state;
        if (revision <= st.durable) return st.durable;
        auto rp = self->make_response_promise();
        st.bounded.emplace(revision, BackendState::Bounded{Clock::now() + patience, rp});
        schedule_flush(self);
        return rp;
      },
      [self](all_durable_atom, int64_t revision) -> caf::result<int64_t> {
        auto& st = self->state;
        if (st.unrevisioned.empty()) return wait_for(self, revision);
        // The next group writes every pending write_atom batch, these among them.
        auto rp = self->make_response_promise();
        st.after_group.emplace_back(revision, rp);
        schedule_flush(self);
        return rp;
      },
      [self](wait_atom, int64_t revision, caf::actor& door) {
        auto& st = self->state;
        if (revision <= st.durable) {
          self->send(door, durable_atom::value, st.durable);
          return;
        }
        st.notify.emplace(revision, std::move(door));
        schedule_flush(self);
      },
      [self](write_atom, int64_t after, BatchPtr& batch) -> caf::result<int64_t> {
        auto rp = self->make_response_promise();
        self->state.unrevisioned.push_back({std::move(batch), after, rp});
        schedule_flush(self);
        return rp;
      },
      [self](applied_atom, int64_t revision) {
        // Cluster mode, another member's entry applied here (its records are in RocksDB
        // and in the shards' indexes already): W moves to it.
        auto& st = self->state;
        st.written = std::max(st.written, revision);
        release(self);
      },
      [self](flush_atom) {
        self->state.flush_scheduled = false;
        write_group(self);
      },
      [self](hub_atom, caf::actor& hub) {
        self->state.hub = std::move(hub);
        self->send(self->state.hub, durable_atom::value, self->state.durable);
      },
      [self](idle_atom) {
        // Speed only: a failure here is the backend's, and its next write reports it.
        (void)self->state.ctx->backend->flush_latest_if_idle();
        expire_bounded(self->state);
        self->delayed_send(self, kIdleCheckInterval, idle_atom::value);
      },
      [self](sync_atom) {
        auto status = self->state.ctx->backend->sync_wal();
        if (!status.ok()) fatal(status.error().message());
        self->delayed_send(self,
                           std::chrono::milliseconds(self->state.ctx->options.sync_interval_ms),
                           sync_atom::value);
      },
  };
}

}  // namespace revkv::actors
