#pragma once

// Cluster mode: a follower forwards what only the leader serves (writes, linearizable reads,
// lease calls) to the leader and relays its answer unchanged (docs/CLUSTER.md "Forwarding").
// The request path (actors/request_path.cpp) is the one forwarding point of both doors; the
// forwarder actor (ClusterLink::forwarder, built by revkvd: apps/revkvd/forwarder.hpp)
// carries the request over a MessagePack-RPC connection to the leader's client door.
//
//   (forward_atom, ForwardCall) -> Answer   the leader's answer or error, or Unavailable
//                                           when the leader cannot be reached
//   (forward_auth_atom, AuthForwardCall) -> AuthForwarded   an Auth.* call (a change or
//                                           Authenticate, actors/auth_replication.hpp), to
//                                           the forwarder's auth worker: the leader's encoded
//                                           result or error, as above

#include "actors/request_path.hpp"
#include "protocol/auth_method.hpp"

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>

#include <optional>
#include <string>
#include <variant>

namespace revkv::actors {

using forward_atom = caf::atom_constant<caf::atom("forward")>;

struct ForwardCall {
  Request request;
  // The caller's auth token, sent with the request: the leader checks it (tokens are valid
  // on every member, they go through the log). None: the request runs on the leader as a
  // request without a token.
  std::optional<std::string> token;
};

using forward_auth_atom = caf::atom_constant<caf::atom("fwdauth")>;

// The auth calls do not enter the request path: they travel as the MessagePack door's
// method name and encoded body, and come back as the leader's encoded result.
struct AuthForwardCall {
  protocol::AuthMethod method{};
  std::string body;
  std::optional<std::string> token;  // as ForwardCall's
};
using AuthForwarded = std::variant<std::string, protocol::WireError>;

}  // namespace revkv::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(revkv::actors::ForwardCall)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(revkv::actors::AuthForwardCall)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(revkv::actors::AuthForwarded)
