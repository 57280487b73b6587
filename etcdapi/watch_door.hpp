#pragma once

// The door actor of one gRPC Watch stream: it hosts its own RequestPath (the watch-stream
// protocol, ids, parking of watchers whose client does not read — actors/request_path.hpp),
// as a MessagePack connection does, and writes every watch response into the stream's
// sink (etcdapi/watch_sink.hpp): gRPC's server's outbox or revkv's HTTP/2 door's stream. One actor
// per stream, because a stream's watch ids and its backpressure are its own.
//
//   (watch_submit_atom, actors::Request, auth::Caller)  a WatchRequest read from the stream,
//                                         and who sent it (its stream's token)
//   (grpc_sent_atom, uint64)              the client took output: parked watchers may resume
//   (node_failed_atom, string)            the node failed: the stream ends Unavailable
//
// The actor stops when its stream's side stops it (the stream ended); stopping, it finishes
// the stream Unavailable if nothing else has.

#include "actors/node_context.hpp"
#include "actors/routes.hpp"
#include "auth/caller.hpp"

#include <caf/actor.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <caf/fwd.hpp>

#include <memory>

namespace revkv::etcdapi {

class WatchSink;

using watch_submit_atom = caf::atom_constant<caf::atom("wsubmit")>;

caf::actor spawn_watch_door(caf::actor_system& sys, actors::NodeContextPtr ctx,
                            actors::Routes routes, std::shared_ptr<WatchSink> sink);

}  // namespace revkv::etcdapi

// Passed between threads of one process only.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(revkv::auth::Caller)
