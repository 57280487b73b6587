#include "etcdapi/maintenance_service.hpp"

#include "actors/cluster_api.hpp"
#include "etcdapi/auth_token.hpp"
#include "etcdapi/convert.hpp"
#include "etcdapi/snapshot_stream.hpp"
#include "etcdapi/unary_call.hpp"

namespace revkv::etcdapi {

MaintenanceService::MaintenanceService(actors::NodeContextPtr ctx, Doors& doors)
    : ctx_(std::move(ctx)), doors_(doors) {}

grpc::ServerUnaryReactor* MaintenanceService::Alarm(grpc::CallbackServerContext* context,
                                                    const etcdserverpb::AlarmRequest* request,
                                                    etcdserverpb::AlarmResponse* response) {
  return serve_unary(ctx_, doors_, context, request->ByteSizeLong(), from_proto(*request),
                     response);
}

grpc::ServerUnaryReactor* MaintenanceService::Status(grpc::CallbackServerContext* context,
                                                     const etcdserverpb::StatusRequest* request,
                                                     etcdserverpb::StatusResponse* response) {
  return serve_unary(ctx_, doors_, context, request->ByteSizeLong(), from_proto(*request),
                     response);
}

grpc::ServerUnaryReactor* MaintenanceService::Defragment(
    grpc::CallbackServerContext* context, const etcdserverpb::DefragmentRequest* request,
    etcdserverpb::DefragmentResponse* response) {
  return serve_unary(ctx_, doors_, context, request->ByteSizeLong(), from_proto(*request),
                     response);
}

grpc::ServerUnaryReactor* MaintenanceService::Hash(grpc::CallbackServerContext* context,
                                                   const etcdserverpb::HashRequest* request,
                                                   etcdserverpb::HashResponse* response) {
  return serve_unary(ctx_, doors_, context, request->ByteSizeLong(), from_proto(*request),
                     response);
}

grpc::ServerUnaryReactor* MaintenanceService::HashKV(grpc::CallbackServerContext* context,
                                                     const etcdserverpb::HashKVRequest* request,
                                                     etcdserverpb::HashKVResponse* response) {
  return serve_unary(ctx_, doors_, context, request->ByteSizeLong(), from_proto(*request),
                     response);
}

grpc::ServerWriteReactor<etcdserverpb::SnapshotResponse>* MaintenanceService::Snapshot(
    grpc::CallbackServerContext* context, const etcdserverpb::SnapshotRequest*) {
  return start_snapshot(doors_, caller_of(*ctx_, *context));
}

grpc::ServerUnaryReactor* MaintenanceService::MoveLeader(
    grpc::CallbackServerContext* context, const etcdserverpb::MoveLeaderRequest* request,
    etcdserverpb::MoveLeaderResponse* response) {
  // The shared implementation (actors/cluster_api.hpp), as on the MessagePack door.
  auto* reactor = context->DefaultReactor();
  actors::move_leader(ctx_, {request->targetid()},
                      [reactor, response](actors::ClusterAnswer<protocol::MoveLeaderResponse> a) {
                        if (auto* error = std::get_if<protocol::WireError>(&a))
                          return reactor->Finish(to_status(*error));
                        to_proto(std::get<protocol::MoveLeaderResponse>(a).header,
                                 *response->mutable_header());
                        reactor->Finish(grpc::Status::OK);
                      });
  return reactor;
}

}  // namespace revkv::etcdapi
