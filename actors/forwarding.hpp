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
//   (forward_cluster_atom, ClusterForwardCall)  a Cluster.* change to the forwarder's cluster
//                                           worker, answered through the call's `reply`

#include "actors/cluster_link.hpp"
#include "actors/request_path.hpp"
#include "protocol/auth_method.hpp"

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
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

using forward_cluster_atom = caf::atom_constant<caf::atom("fwdclust")>;

// Calls a forwarded Cluster.* call's `done` exactly once: with the leader's answer, or, if
// the forwarder ends before it sends the call (the member stops), "server stopped", so a
// door never waits forever.
class ClusterReply {
 public:
  explicit ClusterReply(std::function<void(ClusterLink::ForwardedCall)> done)
      : done_(std::move(done)) {}
  ~ClusterReply() {
    if (done_) done_(protocol::WireError{14, "etcdserver: server stopped"});
  }
  ClusterReply(const ClusterReply&) = delete;
  ClusterReply& operator=(const ClusterReply&) = delete;
  void operator()(ClusterLink::ForwardedCall answer) {
    if (auto done = std::exchange(done_, nullptr)) done(std::move(answer));
  }

 private:
  std::function<void(ClusterLink::ForwardedCall)> done_;
};

// A Cluster.* call (actors/cluster_api.hpp) as bytes, like an auth call, to the forwarder's
// cluster worker, which answers through `reply` (ClusterLink::forward_call).
struct ClusterForwardCall {
  std::string method;
  std::string body;
  std::optional<std::string> token;  // as ForwardCall's
  std::shared_ptr<ClusterReply> reply;
};

}  // namespace revkv::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(revkv::actors::ForwardCall)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(revkv::actors::AuthForwardCall)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(revkv::actors::AuthForwarded)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(revkv::actors::ClusterForwardCall)
