#pragma once

// etcd's Auth service until the security issue: AuthStatus says authentication is off
// (enabled = false, auth revision 0), which is what etcdctl and the client libraries ask
// before anything else when no user is given. The other Auth methods are declared in
// proto/etcdserverpb/rpc.proto with etcd's messages but not overridden here, so the
// generated service answers them Unimplemented.

#include "actors/node_context.hpp"

#include <etcdserverpb/rpc.grpc.pb.h>

namespace revkv::etcdapi {

class AuthService final : public etcdserverpb::Auth::CallbackService {
 public:
  explicit AuthService(actors::NodeContextPtr ctx) : ctx_(std::move(ctx)) {}

  grpc::ServerUnaryReactor* AuthStatus(grpc::CallbackServerContext* context,
                                       const etcdserverpb::AuthStatusRequest* request,
                                       etcdserverpb::AuthStatusResponse* response) override;

 private:
  actors::NodeContextPtr ctx_;
};

}  // namespace revkv::etcdapi
