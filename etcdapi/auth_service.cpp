#include "etcdapi/auth_service.hpp"

#include "auth/check.hpp"
#include "auth/store.hpp"
#include "etcdapi/auth_token.hpp"
#include "etcdapi/convert.hpp"
#include "etcdapi/unary_call.hpp"

namespace revkv::etcdapi {

namespace {

using namespace etcdserverpb;

auth::PermType perm_type(authpb::Permission::Type t) {
  switch (t) {
    case authpb::Permission::WRITE:
      return auth::PermType::write;
    case authpb::Permission::READWRITE:
      return auth::PermType::readwrite;
    default:
      return auth::PermType::read;
  }
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
  auth::Outcome refused =
      caller.bad_token ? auth::Outcome(auth::errors::invalid_auth_token()) : op(caller);
  if (refused) return finish_now(context, to_status(*refused));
  to_proto(ctx_->header(ctx_->watermark.load()), *response->mutable_header());
  return finish_now(context, grpc::Status::OK);
}

template <class Response>
grpc::ServerUnaryReactor* AuthService::serve_admin(grpc::CallbackServerContext* context,
                                                   Response* response,
                                                   const std::function<auth::Outcome()>& op) {
  return serve(context, response, [&](const auth::Caller& caller) -> auth::Outcome {
    if (auto denied = auth::check_admin(*ctx_->auth->state(), caller)) return denied;
    return op();
  });
}

grpc::ServerUnaryReactor* AuthService::AuthEnable(grpc::CallbackServerContext* context,
                                                  const AuthEnableRequest*,
                                                  AuthEnableResponse* response) {
  return serve_admin(context, response, [&] { return ctx_->auth->enable(); });
}

grpc::ServerUnaryReactor* AuthService::AuthDisable(grpc::CallbackServerContext* context,
                                                   const AuthDisableRequest*,
                                                   AuthDisableResponse* response) {
  return serve_admin(context, response, [&] { return ctx_->auth->disable(); });
}

grpc::ServerUnaryReactor* AuthService::AuthStatus(grpc::CallbackServerContext* context,
                                                  const AuthStatusRequest*,
                                                  AuthStatusResponse* response) {
  return serve(context, response, [&](const auth::Caller&) -> auth::Outcome {
    auto state = ctx_->auth->state();
    response->set_enabled(state->enabled);
    response->set_authrevision(state->revision);
    return std::nullopt;
  });
}

grpc::ServerUnaryReactor* AuthService::Authenticate(grpc::CallbackServerContext* context,
                                                    const AuthenticateRequest* request,
                                                    AuthenticateResponse* response) {
  return serve(context, response, [&](const auth::Caller&) -> auth::Outcome {
    auto result = ctx_->auth->authenticate(request->name(), request->password());
    if (auto* error = std::get_if<protocol::WireError>(&result)) return *error;
    response->set_token(std::get<std::string>(result));
    return std::nullopt;
  });
}

grpc::ServerUnaryReactor* AuthService::UserAdd(grpc::CallbackServerContext* context,
                                               const AuthUserAddRequest* request,
                                               AuthUserAddResponse* response) {
  return serve_admin(context, response, [&] {
    return ctx_->auth->user_add(request->name(), request->password(),
                                request->has_options() && request->options().no_password());
  });
}

grpc::ServerUnaryReactor* AuthService::UserGet(grpc::CallbackServerContext* context,
                                               const AuthUserGetRequest* request,
                                               AuthUserGetResponse* response) {
  return serve(context, response, [&](const auth::Caller& caller) -> auth::Outcome {
    auto state = ctx_->auth->state();
    // etcd lets a user read its own record without the root role.
    auto denied = auth::check_admin(*state, caller);
    if (denied && caller.user != request->name()) return denied;
    const auth::User* user = state->user(request->name());
    if (!user) return auth::errors::user_not_found();
    for (const auto& r : user->roles)
      response->add_roles(r);
    return std::nullopt;
  });
}

grpc::ServerUnaryReactor* AuthService::UserList(grpc::CallbackServerContext* context,
                                                const AuthUserListRequest*,
                                                AuthUserListResponse* response) {
  return serve_admin(context, response, [&]() -> auth::Outcome {
    for (const auto& [name, user] : ctx_->auth->state()->users)
      response->add_users(name);
    return std::nullopt;
  });
}

grpc::ServerUnaryReactor* AuthService::UserDelete(grpc::CallbackServerContext* context,
                                                  const AuthUserDeleteRequest* request,
                                                  AuthUserDeleteResponse* response) {
  return serve_admin(context, response, [&] { return ctx_->auth->user_delete(request->name()); });
}

grpc::ServerUnaryReactor* AuthService::UserChangePassword(
    grpc::CallbackServerContext* context, const AuthUserChangePasswordRequest* request,
    AuthUserChangePasswordResponse* response) {
  return serve_admin(context, response, [&] {
    return ctx_->auth->user_change_password(request->name(), request->password());
  });
}

grpc::ServerUnaryReactor* AuthService::UserGrantRole(grpc::CallbackServerContext* context,
                                                     const AuthUserGrantRoleRequest* request,
                                                     AuthUserGrantRoleResponse* response) {
  return serve_admin(context, response,
                     [&] { return ctx_->auth->user_grant_role(request->user(), request->role()); });
}

grpc::ServerUnaryReactor* AuthService::UserRevokeRole(grpc::CallbackServerContext* context,
                                                      const AuthUserRevokeRoleRequest* request,
                                                      AuthUserRevokeRoleResponse* response) {
  return serve_admin(context, response, [&] {
    return ctx_->auth->user_revoke_role(request->name(), request->role());
  });
}

grpc::ServerUnaryReactor* AuthService::RoleAdd(grpc::CallbackServerContext* context,
                                               const AuthRoleAddRequest* request,
                                               AuthRoleAddResponse* response) {
  return serve_admin(context, response, [&] { return ctx_->auth->role_add(request->name()); });
}

grpc::ServerUnaryReactor* AuthService::RoleGet(grpc::CallbackServerContext* context,
                                               const AuthRoleGetRequest* request,
                                               AuthRoleGetResponse* response) {
  return serve(context, response, [&](const auth::Caller& caller) -> auth::Outcome {
    auto state = ctx_->auth->state();
    // etcd lets a user read a role it has without the root role.
    if (auto denied = auth::check_admin(*state, caller)) {
      const auth::User* self = caller.user ? state->user(*caller.user) : nullptr;
      bool own = self && std::find(self->roles.begin(), self->roles.end(), request->role()) !=
                             self->roles.end();
      if (!own) return denied;
    }
    const auth::Role* role = state->role(request->role());
    if (!role) return auth::errors::role_not_found();
    for (const auto& p : role->perms) {
      auto* perm = response->add_perm();
      perm->set_permtype(static_cast<authpb::Permission::Type>(p.type));
      perm->set_key(p.key);
      perm->set_range_end(p.range_end);
    }
    return std::nullopt;
  });
}

grpc::ServerUnaryReactor* AuthService::RoleList(grpc::CallbackServerContext* context,
                                                const AuthRoleListRequest*,
                                                AuthRoleListResponse* response) {
  return serve_admin(context, response, [&]() -> auth::Outcome {
    for (const auto& [name, role] : ctx_->auth->state()->roles)
      response->add_roles(name);
    return std::nullopt;
  });
}

grpc::ServerUnaryReactor* AuthService::RoleDelete(grpc::CallbackServerContext* context,
                                                  const AuthRoleDeleteRequest* request,
                                                  AuthRoleDeleteResponse* response) {
  return serve_admin(context, response, [&] { return ctx_->auth->role_delete(request->role()); });
}

grpc::ServerUnaryReactor* AuthService::RoleGrantPermission(
    grpc::CallbackServerContext* context, const AuthRoleGrantPermissionRequest* request,
    AuthRoleGrantPermissionResponse* response) {
  return serve_admin(context, response, [&] {
    const auto& p = request->perm();
    return ctx_->auth->role_grant_permission(
        request->name(), auth::Permission{perm_type(p.permtype()), p.key(), p.range_end()});
  });
}

grpc::ServerUnaryReactor* AuthService::RoleRevokePermission(
    grpc::CallbackServerContext* context, const AuthRoleRevokePermissionRequest* request,
    AuthRoleRevokePermissionResponse* response) {
  return serve_admin(context, response, [&] {
    return ctx_->auth->role_revoke_permission(request->role(), request->key(),
                                              request->range_end());
  });
}

}  // namespace revkv::etcdapi
