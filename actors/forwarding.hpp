#pragma once

// Cluster mode: a follower forwards what only the leader serves (writes, linearizable reads,
// lease calls) to the leader and relays its answer unchanged (docs/CLUSTER.md "Forwarding").
// The request path (actors/request_path.cpp) is the one forwarding point of both doors; the
// forwarder actor (ClusterLink::forwarder, built by revkvd: apps/revkvd/forwarder.hpp)
// carries the request over a MessagePack-RPC connection to the leader's client door.
//
//   (forward_atom, ForwardCall) -> Answer   the leader's answer or error, or Unavailable
//                                           when the leader cannot be reached

#include "actors/request_path.hpp"

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>

#include <optional>
#include <string>

namespace revkv::actors {

using forward_atom = caf::atom_constant<caf::atom("forward")>;

struct ForwardCall {
  Request request;
  // The caller's auth token, sent with the request: the leader checks it (tokens are valid
  // on every member, they go through the log). None: the request runs on the leader as a
  // request without a token.
  std::optional<std::string> token;
};

}  // namespace revkv::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(revkv::actors::ForwardCall)
