#pragma once

// The watch hub: every watcher of the node, matched against the history as it becomes
// durable (SPEC §7). One actor, so a watcher's events leave in revision order, each once.
//
// Events are read from `kv`, not carried through the write path: the backend tells the hub
// each time the watermark W moves (durable_atom), the hub reads revisions (published, W]
// once — they were just written, so they come from the memtable — and fans them out to
// the watchers that are caught up ("synced"), one response per revision. A watcher that
// needs older revisions (a start revision in the past, or a client that fell behind) is
// "unsynced": a catch-up step reads up to 1000 revisions for it from `kv`, whole
// revisions up to about the response limit in bytes, and sends them in one response; it
// is synced again once it reaches W. The events read are shared by every watcher that
// wants them (WatchDelivery points into the batch). prev_kv needs the key's index,
// which its shard owns: the hub asks the shards for those values (await: nothing else is
// handled meanwhile, so the state does not move under the lookup).
//
// A stream owner (a session, or the test harness) talks to the hub with:
//   (watch_create_atom, msgid, tag, WatchSpec) -> (watch_created_atom, msgid, tag, header_rev)
//                                                  to the owner, before any event of it
//   (watch_cancel_atom, msgid, tag)            -> (watch_cancel_atom, msgid) to the owner
//   (watch_progress_atom, msgid)               -> (watch_progress_atom, msgid, header_rev),
//                                                  -1 when the stream is not all caught up
//   (watch_slow_atom, tag, from_rev)           -> (watch_unpark_atom, tag): the owner dropped
//                                                  the watcher's responses from `from_rev` on;
//                                                  it is caught up again once the owner sends
//   (watch_drained_atom)                          (its output buffer emptied).
// and receives the watchers' responses as (watch_out_atom, WatchDeliveries). The hub
// monitors each owner and drops its watchers when it goes away.
//
// (watch_sync_atom) -> true, once every revision up to the watermark the caller saw has
// been fanned out: the maintenance actor asks before a compaction deletes history, so a
// synced watcher never misses a revision that a compaction removed.

#include "actors/node_context.hpp"

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include <chrono>
#include <cstdint>
#include <vector>

namespace revkv::actors {

// `published`: the revision every event up to which is already known (the watermark when
// the hub starts). Events of revisions (published, W] are delivered as W moves.
caf::actor spawn_watch_hub(caf::actor_system& sys, NodeContextPtr ctx,
                           std::vector<caf::actor> shards, int64_t published);

}  // namespace revkv::actors
