#pragma once

// etcd's Cluster service and Maintenance.MoveLeader: the one implementation behind both
// doors (the gRPC door, etcdapi/cluster_service.cpp and maintenance_service.cpp, and the
// MessagePack door, actors/msgpack_cluster.cpp), in the protocol's vocabulary; each door
// only converts its wire types (docs/CLUSTER.md "Membership").
//
// A single node (no --initial-cluster) lists itself and refuses changes with etcd's errors.
// In cluster mode the changes run on the leader (ClusterLink::change_members); a follower
// forwards MemberAdd, MemberRemove and MemberPromote to the leader's MessagePack door with
// the caller's token (ClusterLink::forward_call) and relays its answer, as it forwards
// writes (docs/CLUSTER.md "Forwarding"). MoveLeader is not forwarded: etcd answers it
// "etcdserver: not leader" on a member that does not lead, and etcdctl sends it to the
// leader itself. MemberList and MemberUpdate (always refused) are answered locally.
//
// `done` is called exactly once, on the caller's thread or later from another one.

#include "actors/door_urls.hpp"
#include "actors/node_context.hpp"
#include "auth/caller.hpp"
#include "protocol/cluster_messages.hpp"
#include "protocol/error.hpp"

#include <functional>
#include <variant>

namespace revkv::actors {

template <class T>
using ClusterAnswer = std::variant<T, protocol::WireError>;
template <class T>
using ClusterDone = std::function<void(ClusterAnswer<T>)>;

// `door`: the door the call came through; the client URLs listed are that door's.
protocol::MembersResponse member_list(const NodeContext& ctx, Door door);

void member_add(const NodeContextPtr& ctx, Door door, const auth::Caller& caller,
                const protocol::MemberAddRequest& request,
                ClusterDone<protocol::MemberAddResponse> done);
void member_remove(const NodeContextPtr& ctx, Door door, const auth::Caller& caller,
                   const protocol::MemberIdRequest& request,
                   ClusterDone<protocol::MembersResponse> done);
void member_update(const NodeContextPtr& ctx, Door door, const auth::Caller& caller,
                   const protocol::MemberUpdateRequest& request,
                   ClusterDone<protocol::MembersResponse> done);
void member_promote(const NodeContextPtr& ctx, Door door, const auth::Caller& caller,
                    const protocol::MemberIdRequest& request,
                    ClusterDone<protocol::MembersResponse> done);
void move_leader(const NodeContextPtr& ctx, const protocol::MoveLeaderRequest& request,
                 ClusterDone<protocol::MoveLeaderResponse> done);

}  // namespace revkv::actors
