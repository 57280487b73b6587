#pragma once

// The backend actor: the only writer of revisions to RocksDB. Detached (its own thread)
// because it blocks in fsync.
//
// Group commit: batches are held as they arrive; the first one after a write schedules the
// next write by sending `flush` to itself, and every batch that arrives before that message
// is handled joins the same group. A group is written as ONE RocksDB write (its batches
// appended in revision order), synced under --sync always: one WAL append and one fsync for
// many writes. Only the contiguous prefix of revisions is written (a batch that overtakes an
// earlier revision waits for it), so the database always holds a prefix of history and a
// crash leaves no gap. The watermark W advances to the highest written (and, under
// --sync always, synced) revision; the watch hub hears of it first, then the waiters.
//
//   (commit_atom, revision, BatchPtr)        -> int64_t W  once W >= revision
//   (commit_atom, revision, BatchPtr, actor) -> nothing; the actor gets (durable_atom, W)
//   (wait_atom, revision)                    -> int64_t W  once W >= revision
//   (wait_atom, revision, actor)             -> nothing; the actor gets (durable_atom, W)
//   (wait_atom, revision, timespan patience) -> int64_t W  once W >= revision, or (W below
//                                               it) once patience ran out (looked at every
//                                               second): a follower's wait for a write it
//                                               forwarded, never kept for long
//   (write_atom, after, BatchPtr)            -> int64_t W  once the batch is durable and
//                                               W >= after
//   (all_durable_atom, revision)             -> int64_t W  once W >= revision and every
//                                               write_atom batch received before is durable
//
// A write_atom batch takes no revision (records outside the MVCC history: a revoked lease
// with no keys, the NOSPACE alarm raised by the quota). It joins the next group write, after
// the group's revisions, and is synced with it: the actors that make these records never
// fsync on their own (scheduler) threads, and the answer that depends on one leaves only
// once it is durable.
//
// all_durable is what an error answered from the store waits for (a put refused because a
// lease is gone, while the revocation that removed it is not yet durable): a record without
// revision is not covered by any W, so waiting for W alone could let the refusal out first.
//
// The notifying forms are the doors' write path: a shard answers a write as soon as it has
// applied it, and the door releases the answer when it hears that W has reached its
// revision — one notice per door and commit group, however many of its writes the group
// holds, and no hop back through the shard.

#include "actors/node_context.hpp"

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

namespace revkv::actors {

// `start` is the newest revision already in RocksDB.
caf::actor spawn_backend_actor(caf::actor_system& sys, NodeContextPtr ctx, int64_t start);

}  // namespace revkv::actors
