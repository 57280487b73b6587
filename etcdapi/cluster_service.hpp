#pragma once

// etcd's Cluster service on the gRPC door: converts the protos to and from the protocol's
// types and runs the shared implementation (actors/cluster_api.hpp), the one the MessagePack
// door runs too, so both doors answer alike (docs/CLUSTER.md "Membership"):
//
// A single node (no --initial-cluster): MemberList lists this node as the one member — its
// id (NodeContext::member_id), the name "default" (etcd's default --name), no peer URLs
// (nothing listens for peers), the gRPC listen URL as its client URL. Reconfiguration is
// refused with the errors etcd gives when a change would leave too few started members or
// names no member:
//   MemberAdd                         Unknown "etcdserver: re-configuration
//   MemberRemove / MemberUpdate(self)   failed due to not enough started members"
//   MemberPromote(self)               FailedPrecondition "etcdserver: can only promote a
//                                       learner member"
//   Remove / Update / Promote(other)  NotFound "etcdserver: member not found"
//
// Cluster mode: MemberList is the Raft configuration (actors/cluster_link.hpp); MemberAdd,
// MemberRemove and MemberPromote change it on the leader, to which a follower forwards them.
// MemberUpdate is refused: libraft cannot change a member's address in place.

#include "actors/node_context.hpp"

#include <etcdserverpb/rpc.grpc.pb.h>
#include <string>

namespace revkv::etcdapi {

class ClusterService final : public etcdserverpb::Cluster::CallbackService {
 public:
  explicit ClusterService(actors::NodeContextPtr ctx);

  // The URL clients reach the gRPC listener at, known once the server is bound (port 0).
  void set_client_url(std::string url);

  grpc::ServerUnaryReactor* MemberList(grpc::CallbackServerContext* context,
                                       const etcdserverpb::MemberListRequest* request,
                                       etcdserverpb::MemberListResponse* response) override;
  grpc::ServerUnaryReactor* MemberAdd(grpc::CallbackServerContext* context,
                                      const etcdserverpb::MemberAddRequest* request,
                                      etcdserverpb::MemberAddResponse* response) override;
  grpc::ServerUnaryReactor* MemberRemove(grpc::CallbackServerContext* context,
                                         const etcdserverpb::MemberRemoveRequest* request,
                                         etcdserverpb::MemberRemoveResponse* response) override;
  grpc::ServerUnaryReactor* MemberUpdate(grpc::CallbackServerContext* context,
                                         const etcdserverpb::MemberUpdateRequest* request,
                                         etcdserverpb::MemberUpdateResponse* response) override;
  grpc::ServerUnaryReactor* MemberPromote(grpc::CallbackServerContext* context,
                                          const etcdserverpb::MemberPromoteRequest* request,
                                          etcdserverpb::MemberPromoteResponse* response) override;

 private:
  actors::NodeContextPtr ctx_;
};

}  // namespace revkv::etcdapi
