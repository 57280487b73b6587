#pragma once

// The actor harness's door: an actor that hosts the node's one request path
// (actors/request_path.hpp) for a test, as the MessagePack door does for a connection.
// Tests reach the path through it with typed requests and get typed answers; watch
// responses and snapshot chunks go to a listener actor as messages.
//
//   (harness_call_atom, actors::Request) -> actors::Answer
//   to the listener: (harness_watch_atom, protocol::WatchResponse)
//                    (harness_chunk_atom, protocol::SnapshotChunk)

#include "actors/node_context.hpp"
#include "actors/request_path.hpp"
#include "actors/routes.hpp"
#include "protocol/messages.hpp"

#include <caf/actor.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <caf/fwd.hpp>

#include <atomic>
#include <cstdint>
#include <memory>

namespace revkv::testing {

using harness_call_atom = caf::atom_constant<caf::atom("hcall")>;
using harness_watch_atom = caf::atom_constant<caf::atom("hwatch")>;
using harness_chunk_atom = caf::atom_constant<caf::atom("hchunk")>;

caf::actor spawn_harness_door(caf::actor_system& sys, actors::NodeContextPtr ctx,
                              actors::Routes routes, caf::actor listener);

// A door that takes its reads in turns (actors::RequestPath::ReadTurns), as the MessagePack
// door does, and whose output the test says the peer has not taken (`unsent`, bytes).
caf::actor spawn_harness_door(caf::actor_system& sys, actors::NodeContextPtr ctx,
                              actors::Routes routes, caf::actor listener,
                              actors::RequestPath::ReadTurns turns,
                              std::shared_ptr<std::atomic<uint64_t>> unsent);

}  // namespace revkv::testing

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(revkv::protocol::SnapshotChunk)
