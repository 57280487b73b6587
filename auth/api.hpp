#pragma once

// etcd's Auth service as calls on the auth store, shared by both doors: the gRPC door
// (etcdapi/auth_service.cpp) converts its protobufs to these bodies and back, the
// MessagePack door (actors/msgpack_auth.cpp) decodes and encodes them; every rule lives here
// once. etcd 3.4's checks in its order: a token that names no one → "invalid auth token"
// (also with auth disabled); with auth enabled, every call but Authenticate, AuthStatus,
// UserGet of oneself and RoleGet of one's own role needs the root role; then the
// operation and its own errors. The response's header is left for the door to fill.
//
// The calls run on the caller's thread and may hash a password (bcrypt, ~50-100 ms at
// cost 10: Authenticate, UserAdd, UserChangePassword). In cluster mode a follower forwards
// the changes and Authenticate to the leader (docs/CLUSTER.md "Forwarding") and relays its
// answer; the reads are answered from the state applied here.

#include "auth/caller.hpp"
#include "auth/errors.hpp"
#include "auth/store.hpp"
#include "protocol/auth_messages.hpp"
#include "protocol/error.hpp"

#include <variant>

namespace revkv::auth {

template <class Response>
using Answer = std::variant<Response, protocol::WireError>;

class Api {
 public:
  explicit Api(AuthStore& store) : store_(store) {}

  using Empty = protocol::AuthEmptyRequest;
  using Done = Answer<protocol::AuthEmptyResponse>;

  Done auth_enable(const Caller& c, const Empty&);
  Done auth_disable(const Caller& c, const Empty&);
  Answer<protocol::AuthStatusResponse> auth_status(const Caller& c, const Empty&);
  Answer<protocol::AuthenticateResponse> authenticate(const Caller& c,
                                                      const protocol::AuthNamePasswordRequest& r);
  Done user_add(const Caller& c, const protocol::AuthUserAddRequest& r);
  Answer<protocol::AuthRolesResponse> user_get(const Caller& c, const protocol::AuthNameRequest& r);
  Answer<protocol::AuthUserListResponse> user_list(const Caller& c, const Empty&);
  Done user_delete(const Caller& c, const protocol::AuthNameRequest& r);
  Done user_change_password(const Caller& c, const protocol::AuthNamePasswordRequest& r);
  Done user_grant_role(const Caller& c, const protocol::AuthUserGrantRoleRequest& r);
  Done user_revoke_role(const Caller& c, const protocol::AuthUserRevokeRoleRequest& r);
  Done role_add(const Caller& c, const protocol::AuthNameRequest& r);
  Answer<protocol::AuthRoleGetResponse> role_get(const Caller& c,
                                                 const protocol::AuthRoleRequest& r);
  Answer<protocol::AuthRolesResponse> role_list(const Caller& c, const Empty&);
  Done role_delete(const Caller& c, const protocol::AuthRoleRequest& r);
  Done role_grant_permission(const Caller& c, const protocol::AuthRoleGrantPermissionRequest& r);
  Done role_revoke_permission(const Caller& c, const protocol::AuthRoleRevokePermissionRequest& r);

 private:
  // Cluster mode, on a follower: the leader's answer to a call only the leader serves
  // (AuthStore::forward); nullopt when it is served here.
  template <class Response, class Request>
  std::optional<Answer<Response>> forwarded(protocol::AuthMethod method, const Caller& c,
                                            const Request& r);
  // `op` behind etcd's admin check (the root role, with auth enabled).
  template <class F>
  Done admin(const Caller& c, F&& op);

  AuthStore& store_;
};

}  // namespace revkv::auth
