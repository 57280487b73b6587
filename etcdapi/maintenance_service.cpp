#include "etcdapi/maintenance_service.hpp"

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
  // etcd (v3rpc maintenance.go, v3_server.go MoveLeader): only the leader moves leadership;
  // a transferee that is not a member is refused with ErrBadLeaderTransferee; a transfer to
  // the leader itself returns at once; a transfer that does not complete in time is
  // ErrTimeoutLeaderTransfer, which etcd leaves untranslated (code Unknown).
  const auto* link = ctx_->cluster.get();
  if (link && !link->leader.load())
    return finish_now(context,
                      grpc::Status(grpc::StatusCode::UNAVAILABLE, "etcdserver: not leader"));
  const uint64_t target = request->targetid();
  bool member = target == ctx_->member_id;
  if (link) member = member || link->is_member(target);
  if (!member)
    return finish_now(context, grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                                            "etcdserver: bad leader transferee"));
  if (target == ctx_->member_id || !link || !link->transfer) {
    to_proto(ctx_->header(ctx_->watermark.load()), *response->mutable_header());
    return finish_now(context, grpc::Status::OK);
  }
  auto* reactor = context->DefaultReactor();
  link->transfer(target, [reactor, response, ctx = ctx_](std::optional<std::string> error) {
    if (!error) {
      to_proto(ctx->header(ctx->watermark.load()), *response->mutable_header());
      reactor->Finish(grpc::Status::OK);
      return;
    }
    auto code = grpc::StatusCode::UNAVAILABLE;  // not leader, server stopped
    if (*error == "etcdserver: bad leader transferee")
      code = grpc::StatusCode::FAILED_PRECONDITION;
    else if (*error == "etcdserver: request timed out, leader transfer took too long")
      code = grpc::StatusCode::UNKNOWN;
    reactor->Finish(grpc::Status(code, *error));
  });
  return reactor;
}

}  // namespace revkv::etcdapi
