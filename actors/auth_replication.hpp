#pragma once

// Cluster mode (docs/SECURITY.md "Replication"): connects the node's auth store to the Raft
// log. A change is refused unless this member is the ready leader ("etcdserver: not
// leader" / "no leader", as writes), and otherwise proposed as a state-change entry of
// kind `auth` (actors/state_change.hpp); the request waits until the entry is applied here.
// A follower forwards the changes and Authenticate to the leader instead (the forwarder,
// actors/forwarding.hpp) under the identity rule of every forwarded request, and relays
// its answer.

#include "actors/node_context.hpp"

#include <caf/actor.hpp>

namespace revkv::actors {

// Before the node serves; nothing happens on a single node (ctx.cluster null). Called at
// the node's start, and again with the forwarder's auth worker (apps/revkvd/forwarder.hpp)
// once the Raft member has one, still before the doors serve: from then on a follower
// forwards instead of refusing.
void replicate_auth(NodeContext& ctx, caf::actor auth_forwarder = {});

}  // namespace revkv::actors
