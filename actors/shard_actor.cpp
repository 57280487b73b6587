#include "actors/shard_actor.hpp"

#include "actors/counted_mailbox.hpp"
#include "actors/fatal.hpp"
#include "actors/messages.hpp"
#include "actors/write_commit.hpp"
#include "storage/engine.hpp"
#include "storage/range_rules.hpp"

#include <caf/all.hpp>

#include <algorithm>

namespace revkv::actors {

struct ShardState {
  ShardState() = default;  // not an aggregate: CAF would build it from `self` (C++20)
  static inline const char* name = "shard";

  NodeContextPtr ctx;
  size_t index = 0;
  storage::Keyspace* keyspace = nullptr;
  std::unique_ptr<storage::KeyspaceSet> view;  // just this partition
  caf::actor backend;
  // The revision this partition's index was last compacted at (compact_atom). A range below
  // it must fail here, not only at the door: a compaction can land between the door's check
  // of ctx->compact_revision and this shard's read, and the compacted index would answer
  // with keys missing or stale instead of ErrCompacted.
  int64_t compacted_at = -1;

  // Records below the watermark are in RocksDB: drop them from the overlay.
  void settle() { keyspace->mark_durable(ctx->watermark.load()); }

  storage::Result<storage::RangeFetch> range(const storage::RangeRequest& r, int64_t rev,
                                             storage::Counting counting) {
    if (rev < compacted_at) return storage::Errc::compacted;
    // Only up to `rev`: records between it and W stay in the overlay, where the range finds
    // them, and the keyspace can still answer from its latest column (Keyspace::range).
    keyspace->mark_durable(std::min(ctx->watermark.load(), rev));
    return keyspace->range(storage::KeyRange::from_request(r.key, r.range_end), rev,
                           storage::fetch_limit(r), storage::fetch_depth(r), counting);
  }

  storage::WriteTxn begin() {
    return storage::WriteTxn(*view, *ctx->backend, ctx->last_revision.load(),
                             [c = ctx.get()] { return c->allocate_revision(); });
  }

  storage::RequestContext request_context() const {
    return storage::RequestContext{ctx->compact_revision.load(),
                                   [c = ctx.get()](int64_t id) { return c->leases.exists(id); }};
  }
};

namespace {

// A failure after the revision was taken would leave a hole below the watermark.
template <class T>
void require_unchanged_on_error(const storage::Result<T>& out, const storage::WriteTxn& txn) {
  if (!out.ok() && txn.changes() > 0) fatal(out.error().message());
}

KeepSet to_keep_set(const std::set<storage::Revision>& keep) {
  return {keep.begin(), keep.end()};
}

}  // namespace

caf::behavior shard_actor(caf::stateful_actor<ShardState>* self, NodeContextPtr ctx, size_t index,
                          caf::actor backend);

caf::actor spawn_shard_actor(caf::actor_system& sys, NodeContextPtr ctx, size_t index,
                             caf::actor backend) {
  // Counted so that revkv_shard_mailbox_depth can show a shard falling behind.
  auto* depth = &ctx->shard_mailbox_depth.at(index);
  return sys.spawn<CountedMailbox<ShardState>>(
      depth, [ctx = std::move(ctx), index, backend = std::move(backend)](auto* self) {
        return shard_actor(self, ctx, index, backend);
      });
}

caf::behavior shard_actor(caf::stateful_actor<ShardState>* self, NodeContextPtr ctx, size_t index,
                          caf::actor backend) {
  auto& st = self->state;
  st.ctx = ctx;
  st.index = index;
  st.keyspace = ctx->keyspaces.at(index).get();
  st.view = std::make_unique<storage::KeyspaceSet>(std::vector<storage::Keyspace*>{st.keyspace});
  st.backend = std::move(backend);
  // A compaction recovered at start (finished or being resumed) is in ctx already.
  st.compacted_at = ctx->compact_revision.load();

  return {
      [self](range_atom, const storage::RangeRequest& r,
             int64_t rev) -> storage::Result<storage::RangeFetch> {
        return self->state.range(r, rev, storage::Counting::whole_range);
      },
      [self](range_page_atom, const storage::RangeRequest& r,
             int64_t rev) -> storage::Result<storage::RangeFetch> {
        return self->state.range(r, rev, storage::Counting::fetched_only);
      },
      [self](const storage::PutRequest& r) -> storage::Result<storage::PutResponse> {
        auto& st = self->state;
        st.settle();
        // Standalone Put checks the lease before key existence (etcd 3.5/3.6).
        if (r.lease != 0 && !st.ctx->leases.exists(r.lease)) {
          return storage::Result<storage::PutResponse>{storage::Errc::lease_not_found};
        }
        auto txn = st.begin();
        auto out = storage::run_put(txn, r);
        require_unchanged_on_error(out, txn);
        if (!out.ok()) return out;
        if (txn.changes() > 0) st.ctx->publish_index_counts(st.index);
        commit_and_notify(self, st.backend, txn, sender_of(self), st.ctx->watermark.load());
        return out;
      },
      [self](
          const storage::DeleteRangeRequest& r) -> storage::Result<storage::DeleteRangeResponse> {
        auto& st = self->state;
        st.settle();
        auto txn = st.begin();
        auto out = txn.delete_range(r);
        require_unchanged_on_error(out, txn);
        if (!out.ok()) return out;
        if (txn.changes() > 0) st.ctx->publish_index_counts(st.index);
        commit_and_notify(self, st.backend, txn, sender_of(self), st.ctx->watermark.load());
        return out;
      },
      [self](const storage::TxnRequest& r) -> storage::Result<storage::TxnResponse> {
        auto& st = self->state;
        st.settle();
        auto txn = st.begin();
        auto out = storage::run_txn(txn, r, st.request_context());
        require_unchanged_on_error(out, txn);
        if (!out.ok()) return out;
        if (txn.changes() > 0) st.ctx->publish_index_counts(st.index);
        commit_and_notify(self, st.backend, txn, sender_of(self), st.ctx->watermark.load());
        return out;
      },
      [self](pause_atom) {
        // Hold every message but resume; CAF retries the skipped ones after unbecome().
        self->set_default_handler(caf::skip);
        self->become(caf::keep_behavior, caf::behavior{
                                             [self](resume_atom) {
                                               self->set_default_handler(caf::print_and_drop);
                                               self->unbecome();
                                             },
                                         });
        return true;
      },
      [self](resume_atom) {
        // Not paused: nothing to do.
      },
      [self](compact_atom, int64_t at) {
        auto& st = self->state;
        st.settle();
        st.compacted_at = std::max(st.compacted_at, at);
        auto keep = to_keep_set(st.keyspace->index().compact(at));
        st.ctx->publish_index_counts(st.index);
        return keep;
      },
      [self](prev_kv_atom, const PrevKvLookups& lookups) {
        // The watch hub's prev_kv: each key's value at its event's revision - 1.
        auto& st = self->state;
        st.settle();
        PrevKvs out;
        out.reserve(lookups.size());
        for (const auto& l : lookups) {
          auto got = st.keyspace->get(l.key, l.revision);
          out.push_back(got.ok() ? std::move(*got) : std::nullopt);
        }
        return out;
      },
      [self](keep_atom, int64_t at) { return to_keep_set(self->state.keyspace->index().keep(at)); },
      [self](lease_keys_atom, int64_t lease) -> caf::result<std::vector<std::string>> {
        // LeaseTimeToLive's keys, as a read at W sees them: a key whose attaching put is
        // applied but not yet durable is not listed (its put is not acknowledged yet).
        auto& st = self->state;
        int64_t w = st.ctx->watermark.load();
        st.keyspace->mark_durable(w);
        auto keys = st.keyspace->keys_with_lease_at(lease, w);
        if (!keys.ok()) return caf::make_error(caf::sec::runtime_error, keys.error().message());
        return std::move(*keys);
      },
      [self](replicate_atom, const RestoredRecordsPtr& records) {
        // A follower: the entry is in RocksDB already; its records enter the index as
        // recovery puts them there (no overlay: nothing here is waiting for a commit).
        auto& st = self->state;
        for (const auto& r : *records)
          st.keyspace->restore(r.kv, r.rev, r.tombstone);
        st.ctx->publish_index_counts(st.index);
        return true;
      },
      [self](stats_atom) {
        const auto& idx = self->state.keyspace->index();
        return ShardStats{idx.key_count(), idx.revision_count()};
      },
  };
}

}  // namespace revkv::actors
