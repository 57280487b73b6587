#include "actors/backend_actor.hpp"

#include "actors/fatal.hpp"
#include "actors/messages.hpp"

#include <caf/all.hpp>

#include <chrono>
#include <map>

namespace revkv::actors {

struct BackendState {
  BackendState() = default;  // not an aggregate: CAF would build it from `self` (C++20)
  static inline const char* name = "backend";

  NodeContextPtr ctx;
  int64_t written = 0;               // highest revision written to RocksDB
  int64_t durable = 0;               // the watermark W
  std::map<int64_t, BatchPtr> held;  // arrived ahead of an earlier revision
  std::multimap<int64_t, caf::response_promise> waiters;
  bool flush_scheduled = false;
  caf::actor hub;  // told each time the watermark moves
};

namespace {

// Syncs the WAL, timing it for revkv_disk_wal_fsync_duration_seconds.
void sync_wal(BackendState& st) {
  auto start = std::chrono::steady_clock::now();
  auto status = st.ctx->backend->sync_wal();
  if (!status.ok()) fatal(status.error().message());
  if (st.ctx->metrics) {
    st.ctx->metrics->wal_fsync(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
}

// Makes everything written durable: the group commit of revisions (durable, written].
// The watch hub hears of it before any acknowledgement leaves, so a watch created after
// an acknowledged write never sees that write as news.
void release(caf::stateful_actor<BackendState>* self) {
  auto& st = self->state;
  if (st.ctx->metrics && st.written > st.durable) {
    st.ctx->metrics->commit_batch(st.written - st.durable);
  }
  bool moved = st.written > st.durable;
  st.durable = st.written;
  // The hub first: once an actor can see the watermark at W (a compaction up to W, a
  // watch sync), durable(W) is already in the hub's mailbox.
  if (st.hub && moved) self->send(st.hub, durable_atom::value, st.durable);
  st.ctx->watermark.store(st.durable);
  if (auto size = st.ctx->backend->size(); size.ok()) {
    st.ctx->db_size.store(static_cast<int64_t>(size->total_bytes));
  }
  auto end = st.waiters.upper_bound(st.durable);
  for (auto it = st.waiters.begin(); it != end; ++it)
    it->second.deliver(st.durable);
  st.waiters.erase(st.waiters.begin(), end);
}

void write_ready(caf::stateful_actor<BackendState>* self) {
  auto& st = self->state;
  bool syncs = st.ctx->options.sync == SyncMode::always;
  while (!st.held.empty() && st.held.begin()->first == st.written + 1) {
    auto status = st.ctx->backend->write(*st.held.begin()->second, /*sync=*/false);
    if (!status.ok()) fatal(status.error().message());
    st.written = st.held.begin()->first;
    st.held.erase(st.held.begin());
  }
  if (!syncs) {
    // interval / never: acknowledged once written; the WAL is synced on a timer or not.
    release(self);
  } else if (st.written > st.durable && !st.flush_scheduled) {
    st.flush_scheduled = true;
    self->send(self, flush_atom::value);
  }
}

}  // namespace

caf::behavior backend_actor(caf::stateful_actor<BackendState>* self, NodeContextPtr ctx,
                            int64_t start);

caf::actor spawn_backend_actor(caf::actor_system& sys, NodeContextPtr ctx, int64_t start) {
  return sys.spawn<caf::detached>(backend_actor, std::move(ctx), start);
}

caf::behavior backend_actor(caf::stateful_actor<BackendState>* self, NodeContextPtr ctx,
                            int64_t start) {
  self->state.ctx = ctx;
  self->state.written = start;
  self->state.durable = self->state.written;
  if (ctx->options.sync == SyncMode::interval) {
    self->delayed_send(self, std::chrono::milliseconds(ctx->options.sync_interval_ms),
                       sync_atom::value);
  }
  return {
      [self](commit_atom, int64_t revision, BatchPtr& batch) -> caf::result<int64_t> {
        auto& st = self->state;
        auto rp = self->make_response_promise();
        st.waiters.emplace(revision, rp);
        st.held.emplace(revision, std::move(batch));
        write_ready(self);
        return rp;
      },
      [self](wait_atom, int64_t revision) -> caf::result<int64_t> {
        auto& st = self->state;
        if (revision <= st.durable) return st.durable;
        auto rp = self->make_response_promise();
        st.waiters.emplace(revision, rp);
        if (st.written > st.durable && !st.flush_scheduled) {
          st.flush_scheduled = true;
          self->send(self, flush_atom::value);
        }
        return rp;
      },
      [self](flush_atom) {
        auto& st = self->state;
        st.flush_scheduled = false;
        if (st.written <= st.durable) return;
        sync_wal(st);
        release(self);
      },
      [self](hub_atom, caf::actor& hub) {
        self->state.hub = std::move(hub);
        self->send(self->state.hub, durable_atom::value, self->state.durable);
      },
      [self](sync_atom) {
        sync_wal(self->state);
        self->delayed_send(self,
                           std::chrono::milliseconds(self->state.ctx->options.sync_interval_ms),
                           sync_atom::value);
      },
  };
}

}  // namespace revkv::actors
