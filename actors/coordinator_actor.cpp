#include "actors/coordinator_actor.hpp"

#include "actors/fatal.hpp"
#include "actors/messages.hpp"
#include "actors/write_commit.hpp"
#include "storage/engine.hpp"
#include "storage/record.hpp"

#include <caf/all.hpp>

#include <functional>

namespace revkv::actors {

struct CoordinatorState {
  CoordinatorState() = default;  // not an aggregate: CAF would build it from `self` (C++20)
  static inline const char* name = "coordinator";

  NodeContextPtr ctx;
  std::vector<caf::actor> shards;
  caf::actor backend;
  std::unique_ptr<storage::KeyspaceSet> all;  // every partition, used only while paused
};

namespace {

using Self = caf::stateful_actor<CoordinatorState>;

// Pauses shards [i, n) one after the other, then runs `work`. `await` keeps every other
// request of the coordinator waiting: multi-shard writes are serialised.
void pause_from(Self* self, size_t i, std::function<void()> work) {
  if (i == self->state.shards.size()) {
    work();
    return;
  }
  self->request(self->state.shards[i], caf::infinite, pause_atom::value)
      .await([self, i, work](bool) mutable { pause_from(self, i + 1, std::move(work)); },
             // A shard that stopped as the node stops: the write is not done.
             [self](caf::error& err) {
               fatal_unless_stopped("pausing the shards", err, self->state.ctx->stopping.load());
             });
}

void resume_all(Self* self) {
  for (const auto& s : self->state.shards)
    self->send(s, resume_atom::value);
}

storage::WriteTxn begin(CoordinatorState& st) {
  return storage::WriteTxn(*st.all, *st.ctx->backend, st.ctx->last_revision.load(),
                           [c = st.ctx.get()] { return c->allocate_revision(); });
}

// Runs `op` on every partition with the shards paused, then commits and replies: to a door
// (`door` set) at once, the backend notifying it when durable; otherwise once durable.
template <class T, class Op>
caf::result<storage::Result<T>> exclusive(Self* self, Op op, caf::actor door = {}) {
  auto rp = self->make_response_promise();
  pause_from(self, 0, [self, rp, op, door]() mutable {
    auto& st = self->state;
    auto txn = begin(st);
    storage::Result<T> out = op(txn);
    if (!out.ok() && txn.changes() > 0) fatal(out.error().message());
    if (txn.changes() > 0) {
      for (size_t i = 0; i < st.ctx->keyspaces.size(); ++i)
        st.ctx->publish_index_counts(i);
    }
    if (!out.ok()) {
      resume_all(self);
      rp.deliver(std::move(out));
      return;
    }
    // The commit reaches the backend actor before any shard resumes: a write a shard refuses
    // afterwards on what this one changed (a put to the lease it revoked) then waits for
    // this commit too (all_durable_atom, sent after the refusal, queues behind it).
    if (door) {
      commit_and_notify(self, st.backend, txn, door, st.ctx->watermark.load());
      resume_all(self);
      rp.deliver(std::move(out));
    } else {
      commit_then_deliver(self, st.backend, txn, std::move(out), rp);
      resume_all(self);
    }
  });
  return rp;
}

// LeaseRevoke (SPEC §8.4), run with every shard paused: the record leaves ctx->leases
// first, so a put queued behind the pause fails with lease not found, and every put applied
// before it is among the keys deleted here — no key is left attached to a revoked lease.
// The keys are deleted in key order at one revision, with the record in the same batch.
// With no key attached nothing takes a revision: the record's removal alone goes to the
// backend actor as a write without revision (commit_then_deliver), synced in its next
// group — never here, where an fsync would hold every shard paused.
storage::Result<storage::LeaseRevokeResponse> revoke_lease(NodeContext& ctx, storage::WriteTxn& txn,
                                                           int64_t id) {
  if (!ctx.leases.erase(id)) return storage::Errc::lease_not_found;
  std::vector<std::string> keys = txn.keyspaces().keys_with_lease(id);
  for (const std::string& k : keys)
    txn.erase(k);
  txn.batch().erase(storage::Column::lease, storage::encode_lease_key(id));
  if (txn.changes() > 0) return storage::LeaseRevokeResponse{txn.revision()};
  return storage::LeaseRevokeResponse{txn.view_rev()};
}

}  // namespace

caf::behavior coordinator_actor(Self* self, NodeContextPtr ctx, std::vector<caf::actor> shards,
                                caf::actor backend);

caf::actor spawn_coordinator_actor(caf::actor_system& sys, NodeContextPtr ctx,
                                   std::vector<caf::actor> shards, caf::actor backend) {
  return sys.spawn(coordinator_actor, std::move(ctx), std::move(shards), std::move(backend));
}

caf::behavior coordinator_actor(Self* self, NodeContextPtr ctx, std::vector<caf::actor> shards,
                                caf::actor backend) {
  auto& st = self->state;
  st.ctx = ctx;
  st.shards = std::move(shards);
  st.backend = std::move(backend);
  std::vector<storage::Keyspace*> parts;
  for (auto& ks : ctx->keyspaces)
    parts.push_back(ks.get());
  st.all = std::make_unique<storage::KeyspaceSet>(std::move(parts));

  return {
      [self](const storage::DeleteRangeRequest& r)
          -> caf::result<storage::Result<storage::DeleteRangeResponse>> {
        return exclusive<storage::DeleteRangeResponse>(
            self, [r](storage::WriteTxn& txn) { return txn.delete_range(r); }, sender_of(self));
      },
      [self](const storage::TxnRequest& r) -> caf::result<storage::Result<storage::TxnResponse>> {
        return exclusive<storage::TxnResponse>(
            self,
            [self, r](storage::WriteTxn& txn) {
              auto ctx = storage::RequestContext{
                  self->state.ctx->compact_revision.load(),
                  [c = self->state.ctx.get()](int64_t id) { return c->leases.exists(id); }};
              return storage::run_txn(txn, r, ctx);
            },
            sender_of(self));
      },
      [self](revoke_atom,
             int64_t id) -> caf::result<storage::Result<storage::LeaseRevokeResponse>> {
        return exclusive<storage::LeaseRevokeResponse>(self, [self, id](storage::WriteTxn& txn) {
          return revoke_lease(*self->state.ctx, txn, id);
        });
      },
  };
}

}  // namespace revkv::actors
