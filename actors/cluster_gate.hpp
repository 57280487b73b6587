#pragma once

// Cluster mode (docs/CLUSTER.md): which requests a member that does not lead cannot serve
// itself. A follower forwards writes, lease calls, linearizable reads, alarm changes and
// auth changes to the leader
// (actors/forwarding.hpp) when it knows where the leader serves; otherwise, and for what
// cannot be forwarded, it answers etcd's Unavailable errors ("etcdserver: not leader" when
// it knows a leader, "etcdserver: no leader" when it knows none), on which a client with
// several endpoints retries another one. Serializable reads, watches and maintenance reads
// are served locally.

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

// Whether a request cluster_refusal refused may go to the leader instead: a forwarder and a
// known leader other than this member; not, with auth enabled, a request whose identity is
// this connection's client certificate or nothing (the leader would see the forwarding
// member's certificate, not the client's); nor a request another member forwarded here
// already (Caller::forwarded): it is refused, never forwarded twice. The auth calls use it too
// (actors/auth_replication.cpp).
bool may_forward(const NodeContext& ctx, const auth::Caller& caller);

}  // namespace revkv::actors
