#include "auth/api.hpp"

#include "auth/check.hpp"
#include "protocol/codec.hpp"

#include <algorithm>

namespace revkv::auth {

namespace p = protocol;

namespace {

constexpr int64_t kInternal = 13;  // gRPC's Internal: an answer that cannot be read

// The same numbers: an unknown one is kept (auth/state.hpp).
PermType perm_type(p::PermissionType t) {
  return static_cast<PermType>(static_cast<int32_t>(t));
}

// Done on success, else the error.
Api::Done done(Outcome refused) {
  if (refused) return *refused;
  return p::AuthEmptyResponse{};
}

}  // namespace

template <class Response, class Request>
std::optional<Answer<Response>> Api::forwarded(p::AuthMethod method, const Caller& c,
                                               const Request& r) {
  auto sent = store_.forward(method, p::encode_to_string(r), c);
  if (!sent) return std::nullopt;
  if (auto* error = std::get_if<p::WireError>(&*sent)) return *error;
  const auto& bytes = std::get<std::string>(*sent);
  try {
    auto handle = msgpack::unpack(bytes.data(), bytes.size());
    auto decoded = p::decode_body<Response>(handle.get());
    if (!decoded.ok()) return decoded.error();
    return Answer<Response>{std::move(decoded).value()};
  } catch (const std::exception& e) {
    return p::WireError{kInternal, std::string("revkv: the leader's answer: ") + e.what()};
  }
}

template <class F>
Api::Done Api::admin(const Caller& c, F&& op) {
  if (c.bad_token) return errors::invalid_auth_token();
  if (auto denied = check_admin(*store_.state(), c)) return *denied;
  return done(op());
}

Api::Done Api::auth_enable(const Caller& c, const Empty&) {
  if (auto sent = forwarded<p::AuthEmptyResponse>(p::AuthMethod::auth_enable, c, Empty{}))
    return *sent;
  return admin(c, [&] { return store_.enable(); });
}

Api::Done Api::auth_disable(const Caller& c, const Empty&) {
  if (auto sent = forwarded<p::AuthEmptyResponse>(p::AuthMethod::auth_disable, c, Empty{}))
    return *sent;
  return admin(c, [&] { return store_.disable(); });
}

Answer<p::AuthStatusResponse> Api::auth_status(const Caller& c, const Empty&) {
  if (c.bad_token) return errors::invalid_auth_token();
  auto state = store_.state();
  p::AuthStatusResponse out;
  out.enabled = state->enabled;
  out.auth_revision = state->revision;
  return out;
}

Answer<p::AuthenticateResponse> Api::authenticate(const Caller& c,
                                                  const p::AuthNamePasswordRequest& r) {
  // Forwarded whatever the token: the leader judges it, and the credentials travel in the
  // request.
  if (auto sent = forwarded<p::AuthenticateResponse>(p::AuthMethod::authenticate, c, r))
    return *sent;
  if (c.bad_token) return errors::invalid_auth_token();
  auto result = store_.authenticate(r.name, r.password);
  if (auto* error = std::get_if<p::WireError>(&result)) return *error;
  p::AuthenticateResponse out;
  out.token = std::get<std::string>(std::move(result));
  return out;
}

Api::Done Api::user_add(const Caller& c, const p::AuthUserAddRequest& r) {
  if (auto sent = forwarded<p::AuthEmptyResponse>(p::AuthMethod::user_add, c, r)) return *sent;
  return admin(c, [&] { return store_.user_add(r.name, r.password, r.options.no_password); });
}

Answer<p::AuthRolesResponse> Api::user_get(const Caller& c, const p::AuthNameRequest& r) {
  if (c.bad_token) return errors::invalid_auth_token();
  auto state = store_.state();
  // etcd lets a user read its own record without the root role.
  auto denied = check_admin(*state, c);
  if (denied && c.user != r.name) return *denied;
  const User* user = state->user(r.name);
  if (!user) return errors::user_not_found();
  p::AuthRolesResponse out;
  out.roles = user->roles;
  return out;
}

Answer<p::AuthUserListResponse> Api::user_list(const Caller& c, const Empty&) {
  p::AuthUserListResponse out;
  auto answer = admin(c, [&]() -> Outcome {
    for (const auto& [name, user] : store_.state()->users)
      out.users.push_back(name);
    return std::nullopt;
  });
  if (auto* error = std::get_if<p::WireError>(&answer)) return *error;
  return out;
}

Api::Done Api::user_delete(const Caller& c, const p::AuthNameRequest& r) {
  if (auto sent = forwarded<p::AuthEmptyResponse>(p::AuthMethod::user_delete, c, r)) return *sent;
  return admin(c, [&] { return store_.user_delete(r.name); });
}

Api::Done Api::user_change_password(const Caller& c, const p::AuthNamePasswordRequest& r) {
  if (auto sent = forwarded<p::AuthEmptyResponse>(p::AuthMethod::user_change_password, c, r))
    return *sent;
  return admin(c, [&] { return store_.user_change_password(r.name, r.password); });
}

Api::Done Api::user_grant_role(const Caller& c, const p::AuthUserGrantRoleRequest& r) {
  if (auto sent = forwarded<p::AuthEmptyResponse>(p::AuthMethod::user_grant_role, c, r))
    return *sent;
  return admin(c, [&] { return store_.user_grant_role(r.user, r.role); });
}

Api::Done Api::user_revoke_role(const Caller& c, const p::AuthUserRevokeRoleRequest& r) {
  if (auto sent = forwarded<p::AuthEmptyResponse>(p::AuthMethod::user_revoke_role, c, r))
    return *sent;
  return admin(c, [&] { return store_.user_revoke_role(r.name, r.role); });
}

Api::Done Api::role_add(const Caller& c, const p::AuthNameRequest& r) {
  if (auto sent = forwarded<p::AuthEmptyResponse>(p::AuthMethod::role_add, c, r)) return *sent;
  return admin(c, [&] { return store_.role_add(r.name); });
}

Answer<p::AuthRoleGetResponse> Api::role_get(const Caller& c, const p::AuthRoleRequest& r) {
  if (c.bad_token) return errors::invalid_auth_token();
  auto state = store_.state();
  // etcd lets a user read a role it has without the root role.
  if (auto denied = check_admin(*state, c)) {
    const User* self = c.user ? state->user(*c.user) : nullptr;
    bool own =
        self && std::find(self->roles.begin(), self->roles.end(), r.role) != self->roles.end();
    if (!own) return *denied;
  }
  const Role* role = state->role(r.role);
  if (!role) return errors::role_not_found();
  p::AuthRoleGetResponse out;
  for (const auto& perm : role->perms)
    out.perm.push_back(
        p::AuthPermission{static_cast<p::PermissionType>(perm.type), perm.key, perm.range_end});
  return out;
}

Answer<p::AuthRolesResponse> Api::role_list(const Caller& c, const Empty&) {
  p::AuthRolesResponse out;
  auto answer = admin(c, [&]() -> Outcome {
    for (const auto& [name, role] : store_.state()->roles)
      out.roles.push_back(name);
    return std::nullopt;
  });
  if (auto* error = std::get_if<p::WireError>(&answer)) return *error;
  return out;
}

Api::Done Api::role_delete(const Caller& c, const p::AuthRoleRequest& r) {
  if (auto sent = forwarded<p::AuthEmptyResponse>(p::AuthMethod::role_delete, c, r)) return *sent;
  return admin(c, [&] { return store_.role_delete(r.role); });
}

Api::Done Api::role_grant_permission(const Caller& c, const p::AuthRoleGrantPermissionRequest& r) {
  if (auto sent = forwarded<p::AuthEmptyResponse>(p::AuthMethod::role_grant_permission, c, r))
    return *sent;
  return admin(c, [&] {
    return store_.role_grant_permission(
        r.name, Permission{perm_type(r.perm.perm_type), r.perm.key, r.perm.range_end});
  });
}

Api::Done Api::role_revoke_permission(const Caller& c,
                                      const p::AuthRoleRevokePermissionRequest& r) {
  if (auto sent = forwarded<p::AuthEmptyResponse>(p::AuthMethod::role_revoke_permission, c, r))
    return *sent;
  return admin(c, [&] { return store_.role_revoke_permission(r.role, r.key, r.range_end); });
}

}  // namespace revkv::auth
