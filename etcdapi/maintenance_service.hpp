#pragma once

// etcd's Maintenance service. Alarm, Status, Defragment, Hash and HashKV go through the
// request path (etcdapi/unary_call.hpp); Hash is a CRC-32C of the whole RocksDB backend, as
// etcd's is a CRC of its whole bbolt file. MoveLeader runs the implementation both doors
// share (actors/cluster_api.hpp); on a single node it answers as a one-member etcd: to this
// member, success (it already leads); to any other id, FailedPrecondition
// "etcdserver: bad leader transferee". Snapshot is a server stream
// (etcdapi/snapshot_stream.hpp).

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
  grpc::ServerUnaryReactor* Hash(grpc::CallbackServerContext* context,
                                 const etcdserverpb::HashRequest* request,
                                 etcdserverpb::HashResponse* response) override;
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
