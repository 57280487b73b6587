#include "etcdapi/cluster_service.hpp"

#include "etcdapi/convert.hpp"
#include "etcdapi/unary_call.hpp"

namespace revkv::etcdapi {

namespace {
// Unknown, not rpctypes' FailedPrecondition: etcd's error map (v3rpc/util.go, 3.4 to 3.6)
// maps this error to the client-side EtcdError, not to a status, so grpc-go sends it as
// Unknown with the message; etcd 3.4.23 answers so (tests/etcdapi/python_etcd3_test.py).
const grpc::Status kNotEnoughStarted(
    grpc::StatusCode::UNKNOWN,
    "etcdserver: re-configuration failed due to not enough started members");
const grpc::Status kMemberNotFound(grpc::StatusCode::NOT_FOUND, "etcdserver: member not found");
const grpc::Status kNotLearner(grpc::StatusCode::FAILED_PRECONDITION,
                               "etcdserver: can only promote a learner member");
}  // namespace

ClusterService::ClusterService(actors::NodeContextPtr ctx) : ctx_(std::move(ctx)) {}

void ClusterService::set_client_url(std::string url) {
  std::lock_guard lock(mutex_);
  client_url_ = std::move(url);
}

grpc::Status ClusterService::refuse_change(uint64_t id) const {
  return id == ctx_->member_id ? kNotEnoughStarted : kMemberNotFound;
}

grpc::ServerUnaryReactor* ClusterService::MemberList(grpc::CallbackServerContext* context,
                                                     const etcdserverpb::MemberListRequest*,
                                                     etcdserverpb::MemberListResponse* response) {
  to_proto(ctx_->header(ctx_->watermark.load()), *response->mutable_header());
  if (const auto* link = ctx_->cluster.get()) {
    // Cluster mode: every member it started with; client URLs for this one and for those
    // that published theirs through the log (each leader does: docs/CLUSTER.md).
    for (const auto& m : link->members) {
      auto* member = response->add_members();
      member->set_id(m.id);
      member->set_name(m.name);
      member->add_peerurls(m.peer_url);
      std::lock_guard lock(mutex_);
      if (m.id == ctx_->member_id && !client_url_.empty()) {
        member->add_clienturls(client_url_);
      } else if (auto published = link->attributes_of(m.id)) {
        member->add_clienturls(published->grpc_url());
      }
    }
    return finish_now(context, grpc::Status::OK);
  }
  auto* member = response->add_members();
  member->set_id(ctx_->member_id);
  member->set_name("default");
  {
    std::lock_guard lock(mutex_);
    if (!client_url_.empty()) member->add_clienturls(client_url_);
  }
  return finish_now(context, grpc::Status::OK);
}

grpc::ServerUnaryReactor* ClusterService::MemberAdd(grpc::CallbackServerContext* context,
                                                    const etcdserverpb::MemberAddRequest*,
                                                    etcdserverpb::MemberAddResponse*) {
  return finish_now(context, kNotEnoughStarted);
}

grpc::ServerUnaryReactor* ClusterService::MemberRemove(
    grpc::CallbackServerContext* context, const etcdserverpb::MemberRemoveRequest* request,
    etcdserverpb::MemberRemoveResponse*) {
  return finish_now(context, refuse_change(request->id()));
}

grpc::ServerUnaryReactor* ClusterService::MemberUpdate(
    grpc::CallbackServerContext* context, const etcdserverpb::MemberUpdateRequest* request,
    etcdserverpb::MemberUpdateResponse*) {
  return finish_now(context, refuse_change(request->id()));
}

grpc::ServerUnaryReactor* ClusterService::MemberPromote(
    grpc::CallbackServerContext* context, const etcdserverpb::MemberPromoteRequest* request,
    etcdserverpb::MemberPromoteResponse*) {
  return finish_now(context, request->id() == ctx_->member_id ? kNotLearner : kMemberNotFound);
}

}  // namespace revkv::etcdapi
