#include "actors/msgpack_auth.hpp"

#include "auth/api.hpp"
#include "auth/store.hpp"
#include "protocol/auth_method.hpp"
#include "protocol/codec.hpp"

namespace revkv::actors {

namespace {

namespace p = protocol;
using p::AuthMethod;

// Decodes the body as `Req`, runs `call`, writes its answer with the node's header.
template <class Req, class Call>
void answer(msgpack::sbuffer& out, const NodeContext& ctx, const p::RequestFrame& frame,
            const auth::Caller& caller, Call&& call) {
  auto request = p::decode_body<Req>(frame.body);
  if (!request) return p::write_error(out, frame.msgid, request.error());
  auth::Api api(*ctx.auth);
  auto result = call(api, caller, request.value());
  if (auto* error = std::get_if<p::WireError>(&result))
    return p::write_error(out, frame.msgid, *error);
  return std::visit(
      [&](auto& response) {
        using R = std::decay_t<decltype(response)>;
        if constexpr (!std::is_same_v<R, p::WireError>) {
          response.header = ctx.header(ctx.watermark.load());
          p::write_result(out, frame.msgid, p::encode_to_string(response));
        }
      },
      result);
}

}  // namespace

namespace {

auth::Caller identified(const NodeContext& ctx, const std::optional<std::string>& token,
                        const std::optional<std::string>& certificate_cn) {
  // etcd looks at the certificate only when the request has no token: a bad token is
  // refused even from a connection whose certificate names a user.
  if (!token) {
    if (!certificate_cn) return auth::Caller::anonymous();
    auto named = auth::Caller::named(*certificate_cn);
    named.by_certificate = true;
    return named;
  }
  auto caller = ctx.auth ? ctx.auth->caller(std::string_view(*token)) : auth::Caller::invalid();
  caller.token = token;  // forwarded with the request by a follower (docs/CLUSTER.md)
  return caller;
}

}  // namespace

auth::Caller caller_of(const NodeContext& ctx, const p::RequestFrame& frame,
                       const std::optional<std::string>& certificate_cn) {
  auto caller = identified(ctx, frame.token, certificate_cn);
  caller.forwarded = frame.forwarded;
  return caller;
}

bool serve_auth_call(msgpack::sbuffer& out, const NodeContext& ctx, const p::RequestFrame& frame,
                     const std::optional<std::string>& certificate_cn) {
  auto method = p::auth_method_from_name(frame.method);
  if (!method) return false;
  if (!ctx.auth) {
    p::write_error(out, frame.msgid,
                   p::WireError{p::kCodeUnimplemented, "revkv: this node has no auth store"});
    return true;
  }
  auto caller = caller_of(ctx, frame, certificate_cn);
  using A = auth::Api;
  using Empty = p::AuthEmptyRequest;
  auto run = [&]<class Req>(auto call) { answer<Req>(out, ctx, frame, caller, call); };
  auto bind = [](auto member) {
    return [member](A& api, const auth::Caller& c, const auto& r) { return (api.*member)(c, r); };
  };
  switch (*method) {
    case AuthMethod::auth_enable:
      run.operator()<Empty>(bind(&A::auth_enable));
      break;
    case AuthMethod::auth_disable:
      run.operator()<Empty>(bind(&A::auth_disable));
      break;
    case AuthMethod::auth_status:
      run.operator()<Empty>(bind(&A::auth_status));
      break;
    case AuthMethod::authenticate:
      run.operator()<p::AuthNamePasswordRequest>(bind(&A::authenticate));
      break;
    case AuthMethod::user_add:
      run.operator()<p::AuthUserAddRequest>(bind(&A::user_add));
      break;
    case AuthMethod::user_get:
      run.operator()<p::AuthNameRequest>(bind(&A::user_get));
      break;
    case AuthMethod::user_list:
      run.operator()<Empty>(bind(&A::user_list));
      break;
    case AuthMethod::user_delete:
      run.operator()<p::AuthNameRequest>(bind(&A::user_delete));
      break;
    case AuthMethod::user_change_password:
      run.operator()<p::AuthNamePasswordRequest>(bind(&A::user_change_password));
      break;
    case AuthMethod::user_grant_role:
      run.operator()<p::AuthUserGrantRoleRequest>(bind(&A::user_grant_role));
      break;
    case AuthMethod::user_revoke_role:
      run.operator()<p::AuthUserRevokeRoleRequest>(bind(&A::user_revoke_role));
      break;
    case AuthMethod::role_add:
      run.operator()<p::AuthNameRequest>(bind(&A::role_add));
      break;
    case AuthMethod::role_get:
      run.operator()<p::AuthRoleRequest>(bind(&A::role_get));
      break;
    case AuthMethod::role_list:
      run.operator()<Empty>(bind(&A::role_list));
      break;
    case AuthMethod::role_delete:
      run.operator()<p::AuthRoleRequest>(bind(&A::role_delete));
      break;
    case AuthMethod::role_grant_permission:
      run.operator()<p::AuthRoleGrantPermissionRequest>(bind(&A::role_grant_permission));
      break;
    case AuthMethod::role_revoke_permission:
      run.operator()<p::AuthRoleRevokePermissionRequest>(bind(&A::role_revoke_permission));
      break;
  }
  return true;
}

}  // namespace revkv::actors
