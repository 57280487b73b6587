#pragma once

// The coordinator: writes whose keys span shards (a DeleteRange over a range, a Txn
// touching keys of several shards), one at a time. It pauses every shard in shard order
// (each first finishes what it has queued), runs the request on all partitions at once at
// one revision with sub-revisions in execution order, resumes the shards and replies: a
// door's DeleteRange / Txn at once (the backend tells the door when it is durable, as for a
// shard's writes), a lease revocation once durable. Single-shard requests never come here. Lease
// revocations run here too: their keys may live on every shard, and the pause is what makes them
// race-free.
//
//   DeleteRangeRequest -> Result<DeleteRangeResponse>  once applied
//   TxnRequest         -> Result<TxnResponse>          once applied
//   (revoke_atom, id)  -> Result<storage::LeaseRevokeResponse>  a lease and its keys

#include "actors/node_context.hpp"

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include <vector>

namespace revkv::actors {

caf::actor spawn_coordinator_actor(caf::actor_system& sys, NodeContextPtr ctx,
                                   std::vector<caf::actor> shards, caf::actor backend);

}  // namespace revkv::actors
