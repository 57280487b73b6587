#pragma once

// Cluster mode (docs/CLUSTER.md): which requests a member that does not lead refuses.
// Forwarding to the leader is not built yet, so a follower answers writes, lease calls and
// linearizable reads with etcd's Unavailable errors ("etcdserver: not leader" when it knows
// a leader, "etcdserver: no leader" when it knows none); a client with several endpoints
// retries another one. Serializable reads, watches and maintenance reads are served locally.

#include "actors/node_context.hpp"
#include "actors/request_path.hpp"

#include <optional>

namespace revkv::actors {

// What a member that may not originate a change answers: nullopt on the (ready) leader,
// else Unavailable "etcdserver: not leader" / "etcdserver: no leader".
std::optional<protocol::WireError> leader_refusal(const ClusterLink& link);

// nullopt on a single node, on the (ready) leader and for what any member serves.
std::optional<protocol::WireError> cluster_refusal(const NodeContext& ctx, protocol::Method method,
                                                   const Request& request);

}  // namespace revkv::actors
