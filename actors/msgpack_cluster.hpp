#pragma once

// etcd's Cluster service and Maintenance.MoveLeader on the MessagePack door ("Cluster.*",
// docs/PROTOCOL.md): decodes the body, runs the call on the shared implementation
// (actors/cluster_api.hpp, the same code the gRPC door runs) and encodes its answer. Like
// the Auth calls these never enter the request path; unlike them they may wait (a change
// commits through the Raft log, a follower forwards it, a leadership transfer takes an
// election), so the answer comes back later, through `reply`, and the door's thread never
// waits for it.

#include "actors/node_context.hpp"
#include "protocol/frame.hpp"

#include <functional>
#include <optional>
#include <string>

namespace revkv::actors {

// When `frame` calls a Cluster.* method or Maintenance.MoveLeader: starts it and returns
// true; `reply` is then called exactly once, on this thread or another one, with the encoded
// response frame. Otherwise false (nothing started). `certificate_cn` as for caller_of
// (actors/msgpack_auth.hpp).
bool serve_cluster_call(const NodeContextPtr& ctx, const protocol::RequestFrame& frame,
                        const std::optional<std::string>& certificate_cn,
                        std::function<void(std::string frame)> reply);

}  // namespace revkv::actors
