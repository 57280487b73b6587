#pragma once

// The gRPC door's actor: hosts one RequestPath (actors/request_path.hpp), the same path
// the MessagePack door hosts per connection, and takes the calls of the gRPC server's
// threads as messages:
//
//   (grpc_call_atom, CallPtr)   submit call->request; call->done(answer) runs once, on
//                               this actor's thread, when the path answers it. With
//                               max_inflight_per_connection requests already in the
//                               path, done(ResourceExhausted "etcdserver: too many
//                               requests") at once instead
//   (node_failed_atom, string)  a core actor died: every waiting call gets Unavailable
//   (leader_lost_atom, DrainHoldPtr)  leadership lost with writes in flight: every
//                               waiting call, and every later one, gets Unavailable
//                               `etcdserver: leader changed`
//   (grpc_sent_atom, uint64)    gRPC took that many bytes of snapshot chunks off the door's
//                               hands: the path may send more (its 4 MiB window)
//
// gRPC calls carry no connection order of their own (a client's concurrent calls may be
// reordered by HTTP/2), so several doors may serve one server: a call sees every write
// that was answered before it was made whichever door takes it, because answers leave
// only once durable and applied.

#include "actors/node_context.hpp"
#include "actors/request_path.hpp"
#include "actors/routes.hpp"
#include "auth/caller.hpp"

#include <caf/actor.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <caf/fwd.hpp>

#include <atomic>
#include <functional>
#include <memory>
#include <string_view>

namespace revkv::etcdapi {

struct Call {
  actors::Request request;
  // Who sent it (etcdapi/auth_token.hpp), for the request path's auth checks.
  auth::Caller caller;
  // Runs on the door's thread; finishes the gRPC call (the callback API allows that from
  // any thread).
  std::function<void(actors::Answer)> done;
  // Maintenance.Snapshot only: each chunk before the answer, on the door's thread. The
  // call reports what gRPC has written with grpc_sent_atom.
  std::function<void(std::string_view blob, uint64_t remaining)> chunk;
  // Maintenance.Snapshot only: set by the gRPC stream (any thread) once a write failed,
  // i.e. the client is gone; the door then stops reading the snapshot.
  std::atomic<bool> abandoned{false};
};
using CallPtr = std::shared_ptr<Call>;

using protocol::too_many_requests;

using grpc_call_atom = caf::atom_constant<caf::atom("grpccall")>;
using grpc_sent_atom = caf::atom_constant<caf::atom("grpcsent")>;

caf::actor spawn_grpc_door(caf::actor_system& sys, actors::NodeContextPtr ctx,
                           actors::Routes routes);

}  // namespace revkv::etcdapi

// Passed between threads of one process only.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(revkv::etcdapi::CallPtr)
