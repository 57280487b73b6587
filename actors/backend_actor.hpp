#pragma once

// The backend actor: the only writer of revisions to RocksDB. Detached (its own thread)
// because it blocks in fsync.
//
// Group commit: each batch is written as it arrives without syncing, and the first batch
// after a sync schedules the next one by sending `flush` to itself; every batch that
// arrives before that message is handled is covered by the same fsync. Batches are
// written strictly in revision order (one that overtakes an earlier revision waits for
// it), so the database always holds a prefix of history and a crash leaves no gap. The
// watermark W advances to the highest synced revision, and acknowledgements are
// released in revision order.
//
//   (commit_atom, revision, BatchPtr) -> int64_t W  once W >= revision
//   (wait_atom, revision)             -> int64_t W  once W >= revision

#include "actors/node_context.hpp"

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

namespace revkv::actors {

// `start` is the newest revision already in RocksDB.
caf::actor spawn_backend_actor(caf::actor_system& sys, NodeContextPtr ctx, int64_t start);

}  // namespace revkv::actors
