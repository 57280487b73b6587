#include "etcdapi/cluster_service.hpp"

#include "auth/check.hpp"
#include "auth/errors.hpp"
#include "cluster/members.hpp"
#include "etcdapi/auth_token.hpp"
#include "etcdapi/convert.hpp"
#include "etcdapi/unary_call.hpp"

#include <stdexcept>
#include <type_traits>

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

std::optional<grpc::Status> ClusterService::require_root(
    grpc::CallbackServerContext* context) const {
  auto caller = caller_of(*ctx_, *context);
  if (caller.bad_token) return to_status(auth::errors::invalid_auth_token());
  if (!ctx_->auth || !ctx_->auth->enabled()) return std::nullopt;
  if (auto denied = auth::check_admin(*ctx_->auth->state(), caller)) return to_status(*denied);
  return std::nullopt;
}

grpc::ServerUnaryReactor* ClusterService::MemberList(grpc::CallbackServerContext* context,
                                                     const etcdserverpb::MemberListRequest*,
                                                     etcdserverpb::MemberListResponse* response) {
  to_proto(ctx_->header(ctx_->watermark.load()), *response->mutable_header());
  if (const auto* link = ctx_->cluster.get()) {
    // Cluster mode: every member it started with; client URLs for this one and for those
    // that published theirs through the log (each leader does: docs/CLUSTER.md).
    for (const auto& m : link->members()) {
      auto* member = response->add_members();
      member->set_id(m.id);
      member->set_name(m.name);
      member->add_peerurls(m.peer_url);
      member->set_islearner(m.learner);
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

namespace {

void to_proto_member(const actors::ClusterLink::Member& m, etcdserverpb::Member& out) {
  out.set_id(m.id);
  out.set_name(m.name);
  out.add_peerurls(m.peer_url);
  out.set_islearner(m.learner);
}

}  // namespace

// Cluster mode: the change runs on the leader (a follower answers etcd's "not leader"; the
// client retries on another endpoint, as etcdctl does with several) and the call is answered
// once the new configuration committed. Root only when auth is on, as etcd.
template <class Response>
grpc::ServerUnaryReactor* ClusterService::change(grpc::CallbackServerContext* context,
                                                 actors::ClusterLink::MemberChange change,
                                                 Response* response) {
  auto* link = ctx_->cluster.get();
  if (auto refused = require_root(context)) return finish_now(context, *refused);
  auto* reactor = context->DefaultReactor();
  link->change_members(std::move(change), [reactor, response, ctx = ctx_,
                                           this](actors::ClusterLink::MemberChangeResult result) {
    if (result.code != 0) {
      reactor->Finish(
          grpc::Status(static_cast<grpc::StatusCode>(result.code), std::move(result.message)));
      return;
    }
    to_proto(ctx->header(ctx->watermark.load()), *response->mutable_header());
    for (const auto& m : result.members) {
      auto* member = response->add_members();
      to_proto_member(m, *member);
      std::lock_guard lock(mutex_);
      if (m.id == ctx->member_id && !client_url_.empty())
        member->add_clienturls(client_url_);
      else if (auto published = ctx->cluster->attributes_of(m.id))
        member->add_clienturls(published->grpc_url());
    }
    if constexpr (std::is_same_v<Response, etcdserverpb::MemberAddResponse>)
      to_proto_member(result.member, *response->mutable_member());
    reactor->Finish(grpc::Status::OK);
  });
  return reactor;
}

grpc::ServerUnaryReactor* ClusterService::MemberAdd(grpc::CallbackServerContext* context,
                                                    const etcdserverpb::MemberAddRequest* request,
                                                    etcdserverpb::MemberAddResponse* response) {
  if (!ctx_->cluster) return finish_now(context, kNotEnoughStarted);
  // libraft knows a member by one address (its transport dials exactly that).
  if (request->peerurls_size() != 1)
    return finish_now(context, grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                            "revkv: a member has exactly one peer URL (got " +
                                                std::to_string(request->peerurls_size()) + ")"));
  actors::ClusterLink::MemberChange c;
  c.kind = actors::ClusterLink::MemberChange::Kind::add;
  try {
    c.peer_address = cluster::parse_peer_url(request->peerurls(0));
  } catch (const std::exception& e) {
    return finish_now(context, grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                            std::string("revkv: ") + e.what()));
  }
  c.learner = request->islearner();
  return change(context, std::move(c), response);
}

grpc::ServerUnaryReactor* ClusterService::MemberRemove(
    grpc::CallbackServerContext* context, const etcdserverpb::MemberRemoveRequest* request,
    etcdserverpb::MemberRemoveResponse* response) {
  if (!ctx_->cluster) return finish_now(context, refuse_change(request->id()));
  actors::ClusterLink::MemberChange c;
  c.kind = actors::ClusterLink::MemberChange::Kind::remove;
  c.id = request->id();
  return change(context, std::move(c), response);
}

grpc::ServerUnaryReactor* ClusterService::MemberUpdate(
    grpc::CallbackServerContext* context, const etcdserverpb::MemberUpdateRequest* request,
    etcdserverpb::MemberUpdateResponse*) {
  if (!ctx_->cluster) return finish_now(context, refuse_change(request->id()));
  if (auto refused = require_root(context)) return finish_now(context, *refused);
  if (!ctx_->cluster->is_member(request->id())) return finish_now(context, kMemberNotFound);
  // libraft 0.15 has no way to change a member's address: its configuration entries only
  // add, assign and remove (docs/CLUSTER.md "Membership").
  return finish_now(context,
                    grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                                 "revkv: member update is not supported: the Raft library cannot "
                                 "change a member's peer URL; remove the member and add it again"));
}

grpc::ServerUnaryReactor* ClusterService::MemberPromote(
    grpc::CallbackServerContext* context, const etcdserverpb::MemberPromoteRequest* request,
    etcdserverpb::MemberPromoteResponse* response) {
  if (!ctx_->cluster)
    return finish_now(context, request->id() == ctx_->member_id ? kNotLearner : kMemberNotFound);
  actors::ClusterLink::MemberChange c;
  c.kind = actors::ClusterLink::MemberChange::Kind::promote;
  c.id = request->id();
  return change(context, std::move(c), response);
}

}  // namespace revkv::etcdapi
