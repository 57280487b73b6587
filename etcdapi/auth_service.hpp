#pragma once

// etcd's Auth service on the node's auth store (auth/store.hpp): AuthEnable/Disable/
// Status, Authenticate, User* and Role*. The rules and their order live in auth/api.hpp,
// shared with the MessagePack door; this file only converts protobufs. The calls are
// answered on gRPC's thread: they read or change the auth state directly (bcrypt hashing
// included, ~50-100 ms at cost 10), never the KV request path. docs/SECURITY.md.

#include "actors/node_context.hpp"
#include "auth/api.hpp"
#include "auth/caller.hpp"
#include "auth/errors.hpp"

#include <etcdserverpb/rpc.grpc.pb.h>
#include <functional>

namespace revkv::etcdapi {

class AuthService final : public etcdserverpb::Auth::CallbackService {
 public:
  explicit AuthService(actors::NodeContextPtr ctx) : ctx_(std::move(ctx)) {}

  grpc::ServerUnaryReactor* AuthEnable(grpc::CallbackServerContext* context,
                                       const etcdserverpb::AuthEnableRequest* request,
                                       etcdserverpb::AuthEnableResponse* response) override;
  grpc::ServerUnaryReactor* AuthDisable(grpc::CallbackServerContext* context,
                                        const etcdserverpb::AuthDisableRequest* request,
                                        etcdserverpb::AuthDisableResponse* response) override;
  grpc::ServerUnaryReactor* AuthStatus(grpc::CallbackServerContext* context,
                                       const etcdserverpb::AuthStatusRequest* request,
                                       etcdserverpb::AuthStatusResponse* response) override;
  grpc::ServerUnaryReactor* Authenticate(grpc::CallbackServerContext* context,
                                         const etcdserverpb::AuthenticateRequest* request,
                                         etcdserverpb::AuthenticateResponse* response) override;
  grpc::ServerUnaryReactor* UserAdd(grpc::CallbackServerContext* context,
                                    const etcdserverpb::AuthUserAddRequest* request,
                                    etcdserverpb::AuthUserAddResponse* response) override;
  grpc::ServerUnaryReactor* UserGet(grpc::CallbackServerContext* context,
                                    const etcdserverpb::AuthUserGetRequest* request,
                                    etcdserverpb::AuthUserGetResponse* response) override;
  grpc::ServerUnaryReactor* UserList(grpc::CallbackServerContext* context,
                                     const etcdserverpb::AuthUserListRequest* request,
                                     etcdserverpb::AuthUserListResponse* response) override;
  grpc::ServerUnaryReactor* UserDelete(grpc::CallbackServerContext* context,
                                       const etcdserverpb::AuthUserDeleteRequest* request,
                                       etcdserverpb::AuthUserDeleteResponse* response) override;
  grpc::ServerUnaryReactor* UserChangePassword(
      grpc::CallbackServerContext* context,
      const etcdserverpb::AuthUserChangePasswordRequest* request,
      etcdserverpb::AuthUserChangePasswordResponse* response) override;
  grpc::ServerUnaryReactor* UserGrantRole(
      grpc::CallbackServerContext* context, const etcdserverpb::AuthUserGrantRoleRequest* request,
      etcdserverpb::AuthUserGrantRoleResponse* response) override;
  grpc::ServerUnaryReactor* UserRevokeRole(
      grpc::CallbackServerContext* context, const etcdserverpb::AuthUserRevokeRoleRequest* request,
      etcdserverpb::AuthUserRevokeRoleResponse* response) override;
  grpc::ServerUnaryReactor* RoleAdd(grpc::CallbackServerContext* context,
                                    const etcdserverpb::AuthRoleAddRequest* request,
                                    etcdserverpb::AuthRoleAddResponse* response) override;
  grpc::ServerUnaryReactor* RoleGet(grpc::CallbackServerContext* context,
                                    const etcdserverpb::AuthRoleGetRequest* request,
                                    etcdserverpb::AuthRoleGetResponse* response) override;
  grpc::ServerUnaryReactor* RoleList(grpc::CallbackServerContext* context,
                                     const etcdserverpb::AuthRoleListRequest* request,
                                     etcdserverpb::AuthRoleListResponse* response) override;
  grpc::ServerUnaryReactor* RoleDelete(grpc::CallbackServerContext* context,
                                       const etcdserverpb::AuthRoleDeleteRequest* request,
                                       etcdserverpb::AuthRoleDeleteResponse* response) override;
  grpc::ServerUnaryReactor* RoleGrantPermission(
      grpc::CallbackServerContext* context,
      const etcdserverpb::AuthRoleGrantPermissionRequest* request,
      etcdserverpb::AuthRoleGrantPermissionResponse* response) override;
  grpc::ServerUnaryReactor* RoleRevokePermission(
      grpc::CallbackServerContext* context,
      const etcdserverpb::AuthRoleRevokePermissionRequest* request,
      etcdserverpb::AuthRoleRevokePermissionResponse* response) override;

 private:
  // The call on the shared Auth API (auth/api.hpp), its error or nullopt once the response
  // is filled.
  using Op = std::function<auth::Outcome(auth::Api&, const auth::Caller&)>;
  // Resolves the caller, runs `op`; on success fills the header.
  template <class Response>
  grpc::ServerUnaryReactor* serve(grpc::CallbackServerContext* context, Response* response,
                                  const Op& op);

  actors::NodeContextPtr ctx_;
};

}  // namespace revkv::etcdapi
