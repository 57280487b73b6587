#include "etcdapi/cluster_service.hpp"

#include "actors/cluster_api.hpp"
#include "etcdapi/auth_token.hpp"
#include "etcdapi/convert.hpp"
#include "etcdapi/unary_call.hpp"

#include <type_traits>

namespace revkv::etcdapi {

namespace {

namespace p = protocol;
using actors::ClusterAnswer;
using actors::Door;

void to_proto_member(const p::ClusterMember& m, etcdserverpb::Member& out) {
  out.set_id(m.id);
  out.set_name(m.name);
  for (const auto& url : m.peer_urls)
    out.add_peerurls(url);
  for (const auto& url : m.client_urls)
    out.add_clienturls(url);
  out.set_islearner(m.is_learner);
}

template <class ProtoResponse, class Resp>
void fill(const Resp& in, ProtoResponse& out) {
  to_proto(in.header, *out.mutable_header());
  for (const auto& m : in.members)
    to_proto_member(m, *out.add_members());
  if constexpr (std::is_same_v<Resp, p::MemberAddResponse>)
    to_proto_member(in.member, *out.mutable_member());
}

// The `done` of a shared call: fills `response` and finishes the call, from whichever
// thread answers.
template <class Resp, class ProtoResponse>
actors::ClusterDone<Resp> finisher(grpc::ServerUnaryReactor* reactor, ProtoResponse* response) {
  return [reactor, response](ClusterAnswer<Resp> answer) {
    if (auto* error = std::get_if<p::WireError>(&answer)) return reactor->Finish(to_status(*error));
    fill(std::get<Resp>(answer), *response);
    reactor->Finish(grpc::Status::OK);
  };
}

std::vector<std::string> urls(const google::protobuf::RepeatedPtrField<std::string>& in) {
  return {in.begin(), in.end()};
}

}  // namespace

ClusterService::ClusterService(actors::NodeContextPtr ctx) : ctx_(std::move(ctx)) {}

void ClusterService::set_client_url(std::string url) {
  ctx_->door_urls.set(Door::grpc, std::move(url));
}

grpc::ServerUnaryReactor* ClusterService::MemberList(grpc::CallbackServerContext* context,
                                                     const etcdserverpb::MemberListRequest*,
                                                     etcdserverpb::MemberListResponse* response) {
  fill(actors::member_list(*ctx_, Door::grpc), *response);
  return finish_now(context, grpc::Status::OK);
}

grpc::ServerUnaryReactor* ClusterService::MemberAdd(grpc::CallbackServerContext* context,
                                                    const etcdserverpb::MemberAddRequest* request,
                                                    etcdserverpb::MemberAddResponse* response) {
  auto* reactor = context->DefaultReactor();
  p::MemberAddRequest r{urls(request->peerurls()), request->islearner()};
  actors::member_add(ctx_, Door::grpc, caller_of(*ctx_, *context), r,
                     finisher<p::MemberAddResponse>(reactor, response));
  return reactor;
}

grpc::ServerUnaryReactor* ClusterService::MemberRemove(
    grpc::CallbackServerContext* context, const etcdserverpb::MemberRemoveRequest* request,
    etcdserverpb::MemberRemoveResponse* response) {
  auto* reactor = context->DefaultReactor();
  actors::member_remove(ctx_, Door::grpc, caller_of(*ctx_, *context), {request->id()},
                        finisher<p::MembersResponse>(reactor, response));
  return reactor;
}

grpc::ServerUnaryReactor* ClusterService::MemberUpdate(
    grpc::CallbackServerContext* context, const etcdserverpb::MemberUpdateRequest* request,
    etcdserverpb::MemberUpdateResponse* response) {
  auto* reactor = context->DefaultReactor();
  p::MemberUpdateRequest r{request->id(), urls(request->peerurls())};
  actors::member_update(ctx_, Door::grpc, caller_of(*ctx_, *context), r,
                        finisher<p::MembersResponse>(reactor, response));
  return reactor;
}

grpc::ServerUnaryReactor* ClusterService::MemberPromote(
    grpc::CallbackServerContext* context, const etcdserverpb::MemberPromoteRequest* request,
    etcdserverpb::MemberPromoteResponse* response) {
  auto* reactor = context->DefaultReactor();
  actors::member_promote(ctx_, Door::grpc, caller_of(*ctx_, *context), {request->id()},
                         finisher<p::MembersResponse>(reactor, response));
  return reactor;
}

}  // namespace revkv::etcdapi
