#include "actors/msgpack_cluster.hpp"

#include "actors/cluster_api.hpp"
#include "actors/msgpack_auth.hpp"
#include "protocol/cluster_method.hpp"
#include "protocol/codec.hpp"

#include <msgpack.hpp>
#include <utility>

namespace revkv::actors {
namespace {

namespace p = protocol;
using p::ClusterMethod;

std::string bytes_of(const msgpack::sbuffer& out) {
  return std::string(out.data(), out.size());
}

// The `done` of a call: encodes its answer as the response frame to `msgid`.
template <class Resp>
ClusterDone<Resp> encoder(uint32_t msgid, std::function<void(std::string)> reply) {
  return [msgid, reply = std::move(reply)](ClusterAnswer<Resp> answer) {
    msgpack::sbuffer out;
    if (auto* error = std::get_if<p::WireError>(&answer))
      p::write_error(out, msgid, *error);
    else
      p::write_result(out, msgid, p::encode_to_string(std::get<Resp>(answer)));
    reply(bytes_of(out));
  };
}

}  // namespace

bool serve_cluster_call(const NodeContextPtr& ctx, const p::RequestFrame& frame,
                        const std::optional<std::string>& certificate_cn,
                        std::function<void(std::string)> reply) {
  auto method = p::cluster_method_from_name(frame.method);
  if (!method) return false;
  // Decodes the body as `Req` (a bad one is answered at once) and runs `call` on it.
  auto run = [&]<class Req, class Resp>(auto call) {
    auto done = encoder<Resp>(frame.msgid, std::move(reply));
    auto request = p::decode_body<Req>(frame.body);
    if (!request) return done(request.error());
    call(request.value(), std::move(done));
  };
  auto caller = [&] { return caller_of(*ctx, frame, certificate_cn); };
  switch (*method) {
    case ClusterMethod::member_list:
      run.operator()<p::MemberListRequest, p::MembersResponse>(
          [&](const auto&, auto done) { done(member_list(*ctx, Door::msgpack)); });
      break;
    case ClusterMethod::member_add:
      run.operator()<p::MemberAddRequest, p::MemberAddResponse>([&](const auto& r, auto done) {
        member_add(ctx, Door::msgpack, caller(), r, std::move(done));
      });
      break;
    case ClusterMethod::member_remove:
      run.operator()<p::MemberIdRequest, p::MembersResponse>([&](const auto& r, auto done) {
        member_remove(ctx, Door::msgpack, caller(), r, std::move(done));
      });
      break;
    case ClusterMethod::member_update:
      run.operator()<p::MemberUpdateRequest, p::MembersResponse>([&](const auto& r, auto done) {
        member_update(ctx, Door::msgpack, caller(), r, std::move(done));
      });
      break;
    case ClusterMethod::member_promote:
      run.operator()<p::MemberIdRequest, p::MembersResponse>([&](const auto& r, auto done) {
        member_promote(ctx, Door::msgpack, caller(), r, std::move(done));
      });
      break;
    case ClusterMethod::move_leader:
      run.operator()<p::MoveLeaderRequest, p::MoveLeaderResponse>(
          [&](const auto& r, auto done) { move_leader(ctx, r, std::move(done)); });
      break;
  }
  return true;
}

}  // namespace revkv::actors
