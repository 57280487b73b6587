#pragma once

// The maintenance actor: KV.Compact (index compaction on every shard, then physical
// deletion in bounded batches interleaved with other work, progress in `meta` so that a
// crash mid-way resumes on restart), HashKV (keep sets from every shard), Status,
// Defragment, Alarm and Snapshot. Detached: defragment, fsync-ed batches and snapshots
// block.
//
//   CompactionRequest  -> Result<CompactResponse>
//   HashKVRequest      -> Result<protocol::HashKVResponse>
//   StatusRequest      -> Result<protocol::StatusResponse>
//   DefragmentRequest  -> Result<protocol::DefragmentResponse>
//   HashRequest        -> Result<protocol::HashResponse>
//   AlarmRequest       -> Result<protocol::AlarmResponse>
//   SnapshotRequest    -> Result<SnapshotSourcePtr>  (a RocksDB checkpoint in a folder of
//                         its own; the door streams its tar: actors/snapshot_source.hpp)
//   (applied_here_atom, revision, physical, timespan) -> bool  cluster mode: once this
//                         member's compaction reached `revision` (and its physical job, if
//                         `physical`), true; false once the timespan ran out
//   (applied_here_atom, raised, timespan) -> bool  the same for its copy of the NOSPACE alarm
//                         (actors/applied_here.hpp)
//   (replicated_compact_atom, revision)  cluster mode: a compaction another member proposed,
//                         applied here; started once W reaches `revision` (the backend's
//                         wait_atom tells), in log order

#include "actors/node_context.hpp"

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include <optional>
#include <vector>

namespace revkv::actors {

// `watch_hub`: asked before a compaction deletes history (actors/watch_hub.hpp).
// `backend`: asked to tell when W reaches a revision another member compacted at.
caf::actor spawn_maintenance_actor(caf::actor_system& sys, NodeContextPtr ctx,
                                   std::vector<caf::actor> shards, caf::actor watch_hub,
                                   caf::actor backend,
                                   std::optional<int64_t> unfinished_compaction);

}  // namespace revkv::actors
