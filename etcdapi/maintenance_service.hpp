#pragma once

// etcd's Maintenance service. Alarm, Status, Defragment and HashKV go through the request
// path (etcdapi/unary_call.hpp). MoveLeader is answered here as a one-member etcd answers
// it: to this member, success (it already leads); to any other id, FailedPrecondition
// "etcdserver: bad leader transferee". Snapshot is a server stream
// (etcdapi/snapshot_stream.hpp). Not served yet (gRPC's Unimplemented, the generated
// default): Hash (etcd's hash of the whole backend file has no counterpart in RocksDB;
// HashKV is the comparable one).

#include "actors/node_context.hpp"
#include "etcdapi/doors.hpp"

#include <etcdserverpb/rpc.grpc.pb.h>

namespace revkv::etcdapi {

class MaintenanceService final : public etcdserverpb::Maintenance::CallbackService {
 public:
  // `doors` outlives the service.
  MaintenanceService(actors::NodeContextPtr ctx, Doors& doors);

  grpc::ServerUnaryReactor* Alarm(grpc::CallbackServerContext* context,
                                  const etcdserverpb::AlarmRequest* request,
                                  etcdserverpb::AlarmResponse* response) override;
  grpc::ServerUnaryReactor* Status(grpc::CallbackServerContext* context,
                                   const etcdserverpb::StatusRequest* request,
                                   etcdserverpb::StatusResponse* response) override;
  grpc::ServerUnaryReactor* Defragment(grpc::CallbackServerContext* context,
                                       const etcdserverpb::DefragmentRequest* request,
                                       etcdserverpb::DefragmentResponse* response) override;
  grpc::ServerUnaryReactor* HashKV(grpc::CallbackServerContext* context,
                                   const etcdserverpb::HashKVRequest* request,
                                   etcdserverpb::HashKVResponse* response) override;
  grpc::ServerWriteReactor<etcdserverpb::SnapshotResponse>* Snapshot(
      grpc::CallbackServerContext* context, const etcdserverpb::SnapshotRequest* request) override;
  grpc::ServerUnaryReactor* MoveLeader(grpc::CallbackServerContext* context,
                                       const etcdserverpb::MoveLeaderRequest* request,
                                       etcdserverpb::MoveLeaderResponse* response) override;

 private:
  actors::NodeContextPtr ctx_;
  Doors& doors_;
};

}  // namespace revkv::etcdapi
