#pragma once

// A shard: owns one partition of the key index (the keys with shard_of(key) == index)
// and applies the writes that touch only its keys, taking their revisions from the
// node's counter and committing them through the backend actor. Reads at a revision
// <= W go straight to RocksDB through its keyspace.
//
//   (range_atom, RangeRequest, rev)  -> Result<RangeFetch>   this partition's part
//   (range_page_atom, RangeRequest, rev) -> Result<RangeFetch>  the same, counting only the
//                                       keys fetched (the asker knows the range's count)
//   PutRequest / DeleteRangeRequest (single key) / TxnRequest (keys of this shard only)
//                                    -> Result<...Response>  once applied: the sender (a
//                                       door) gets (durable_atom, W) from the backend when
//                                       W reaches the response's revision, and answers then
//   (pause_atom) -> bool             finish what is queued before, then hold every other
//   (resume_atom)                    message until resume (the coordinator's window)
//   (compact_atom, C) -> KeepSet     compacts the partition's index at C
//   (keep_atom, H) -> KeepSet        HashKV's keep set of the partition
//   (lease_keys_atom, id) -> vector<string>  this partition's keys attached to lease `id`
//                                       as of W (a put not yet durable does not count)
//   (stats_atom) -> ShardStats

#include "actors/node_context.hpp"

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

namespace revkv::actors {

caf::actor spawn_shard_actor(caf::actor_system& sys, NodeContextPtr ctx, size_t index,
                             caf::actor backend);

}  // namespace revkv::actors
