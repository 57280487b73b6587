#include "etcdapi/auth_service.hpp"

#include "auth/api.hpp"
#include "auth/store.hpp"
#include "etcdapi/auth_token.hpp"
#include "etcdapi/convert.hpp"
#include "etcdapi/unary_call.hpp"

namespace revkv::etcdapi {

namespace {

using namespace etcdserverpb;
namespace p = protocol;

// The answer's error, or nullopt after `fill` took the response.
template <class R, class Fill>
auth::Outcome take(auth::Answer<R> answer, Fill&& fill) {
  if (auto* error = std::get_if<p::WireError>(&answer)) return *error;
  fill(std::get<R>(answer));
  return std::nullopt;
}

template <class R>
auth::Outcome take(auth::Answer<R> answer) {
  return take(std::move(answer), [](const R&) {});
}

}  // namespace

template <class Response>
grpc::ServerUnaryReactor* AuthService::serve(grpc::CallbackServerContext* context,
                                             Response* response, const Op& op) {
  if (!ctx_->auth) {
    return finish_now(context, grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                                            "revkv: this node has no auth store"));
  }
  auto caller = caller_of(*ctx_, *context);
  auth::Api api(*ctx_->auth);
  if (auto refused = op(api, caller)) return finish_now(context, to_status(*refused));
  to_proto(ctx_->header(ctx_->watermark.load()), *response->mutable_header());
  return finish_now(context, grpc::Status::OK);
}

grpc::ServerUnaryReactor* AuthService::AuthEnable(grpc::CallbackServerContext* context,
                                                  const AuthEnableRequest*,
                                                  AuthEnableResponse* response) {
  return serve(context, response,
               [&](auth::Api& api, const auth::Caller& c) { return take(api.auth_enable(c, {})); });
}

grpc::ServerUnaryReactor* AuthService::AuthDisable(grpc::CallbackServerContext* context,
                                                   const AuthDisableRequest*,
                                                   AuthDisableResponse* response) {
  return serve(context, response, [&](auth::Api& api, const auth::Caller& c) {
    return take(api.auth_disable(c, {}));
  });
}

grpc::ServerUnaryReactor* AuthService::AuthStatus(grpc::CallbackServerContext* context,
                                                  const AuthStatusRequest*,
                                                  AuthStatusResponse* response) {
  return serve(context, response, [&](auth::Api& api, const auth::Caller& c) {
    return take(api.auth_status(c, {}), [&](const p::AuthStatusResponse& r) {
      response->set_enabled(r.enabled);
      response->set_authrevision(r.auth_revision);
    });
  });
}

grpc::ServerUnaryReactor* AuthService::Authenticate(grpc::CallbackServerContext* context,
                                                    const AuthenticateRequest* request,
                                                    AuthenticateResponse* response) {
  return serve(context, response, [&](auth::Api& api, const auth::Caller& c) {
    return take(api.authenticate(c, {request->name(), request->password()}),
                [&](const p::AuthenticateResponse& r) { response->set_token(r.token); });
  });
}

grpc::ServerUnaryReactor* AuthService::UserAdd(grpc::CallbackServerContext* context,
                                               const AuthUserAddRequest* request,
                                               AuthUserAddResponse* response) {
  return serve(context, response, [&](auth::Api& api, const auth::Caller& c) {
    bool no_password = request->has_options() && request->options().no_password();
    return take(api.user_add(c, {request->name(), request->password(), {no_password}}));
  });
}

grpc::ServerUnaryReactor* AuthService::UserGet(grpc::CallbackServerContext* context,
                                               const AuthUserGetRequest* request,
                                               AuthUserGetResponse* response) {
  return serve(context, response, [&](auth::Api& api, const auth::Caller& c) {
    return take(api.user_get(c, {request->name()}), [&](const p::AuthRolesResponse& r) {
      for (const auto& role : r.roles)
        response->add_roles(role);
    });
  });
}

grpc::ServerUnaryReactor* AuthService::UserList(grpc::CallbackServerContext* context,
                                                const AuthUserListRequest*,
                                                AuthUserListResponse* response) {
  return serve(context, response, [&](auth::Api& api, const auth::Caller& c) {
    return take(api.user_list(c, {}), [&](const p::AuthUserListResponse& r) {
      for (const auto& name : r.users)
        response->add_users(name);
    });
  });
}

grpc::ServerUnaryReactor* AuthService::UserDelete(grpc::CallbackServerContext* context,
                                                  const AuthUserDeleteRequest* request,
                                                  AuthUserDeleteResponse* response) {
  return serve(context, response, [&](auth::Api& api, const auth::Caller& c) {
    return take(api.user_delete(c, {request->name()}));
  });
}

grpc::ServerUnaryReactor* AuthService::UserChangePassword(
    grpc::CallbackServerContext* context, const AuthUserChangePasswordRequest* request,
    AuthUserChangePasswordResponse* response) {
  return serve(context, response, [&](auth::Api& api, const auth::Caller& c) {
    return take(api.user_change_password(c, {request->name(), request->password()}));
  });
}

grpc::ServerUnaryReactor* AuthService::UserGrantRole(grpc::CallbackServerContext* context,
                                                     const AuthUserGrantRoleRequest* request,
                                                     AuthUserGrantRoleResponse* response) {
  return serve(context, response, [&](auth::Api& api, const auth::Caller& c) {
    return take(api.user_grant_role(c, {request->user(), request->role()}));
  });
}

grpc::ServerUnaryReactor* AuthService::UserRevokeRole(grpc::CallbackServerContext* context,
                                                      const AuthUserRevokeRoleRequest* request,
                                                      AuthUserRevokeRoleResponse* response) {
  return serve(context, response, [&](auth::Api& api, const auth::Caller& c) {
    return take(api.user_revoke_role(c, {request->name(), request->role()}));
  });
}

grpc::ServerUnaryReactor* AuthService::RoleAdd(grpc::CallbackServerContext* context,
                                               const AuthRoleAddRequest* request,
                                               AuthRoleAddResponse* response) {
  return serve(context, response, [&](auth::Api& api, const auth::Caller& c) {
    return take(api.role_add(c, {request->name()}));
  });
}

grpc::ServerUnaryReactor* AuthService::RoleGet(grpc::CallbackServerContext* context,
                                               const AuthRoleGetRequest* request,
                                               AuthRoleGetResponse* response) {
  return serve(context, response, [&](auth::Api& api, const auth::Caller& c) {
    return take(api.role_get(c, {request->role()}), [&](const p::AuthRoleGetResponse& r) {
      for (const auto& perm : r.perm) {
        auto* out = response->add_perm();
        out->set_permtype(static_cast<authpb::Permission::Type>(perm.perm_type));
        out->set_key(perm.key);
        out->set_range_end(perm.range_end);
      }
    });
  });
}

grpc::ServerUnaryReactor* AuthService::RoleList(grpc::CallbackServerContext* context,
                                                const AuthRoleListRequest*,
                                                AuthRoleListResponse* response) {
  return serve(context, response, [&](auth::Api& api, const auth::Caller& c) {
    return take(api.role_list(c, {}), [&](const p::AuthRolesResponse& r) {
      for (const auto& name : r.roles)
        response->add_roles(name);
    });
  });
}

grpc::ServerUnaryReactor* AuthService::RoleDelete(grpc::CallbackServerContext* context,
                                                  const AuthRoleDeleteRequest* request,
                                                  AuthRoleDeleteResponse* response) {
  return serve(context, response, [&](auth::Api& api, const auth::Caller& c) {
    return take(api.role_delete(c, {request->role()}));
  });
}

grpc::ServerUnaryReactor* AuthService::RoleGrantPermission(
    grpc::CallbackServerContext* context, const AuthRoleGrantPermissionRequest* request,
    AuthRoleGrantPermissionResponse* response) {
  return serve(context, response, [&](auth::Api& api, const auth::Caller& c) {
    const auto& perm = request->perm();
    // authpb's enum values are the wire's; an unknown one is kept as given and grants
    // nothing, as etcd stores and checks it.
    auto type = static_cast<p::PermissionType>(perm.permtype());
    return take(
        api.role_grant_permission(c, {request->name(), {type, perm.key(), perm.range_end()}}));
  });
}

grpc::ServerUnaryReactor* AuthService::RoleRevokePermission(
    grpc::CallbackServerContext* context, const AuthRoleRevokePermissionRequest* request,
    AuthRoleRevokePermissionResponse* response) {
  return serve(context, response, [&](auth::Api& api, const auth::Caller& c) {
    return take(
        api.role_revoke_permission(c, {request->role(), request->key(), request->range_end()}));
  });
}

}  // namespace revkv::etcdapi
