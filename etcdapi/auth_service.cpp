#include "etcdapi/auth_service.hpp"

#include "etcdapi/convert.hpp"
#include "etcdapi/unary_call.hpp"

namespace revkv::etcdapi {

grpc::ServerUnaryReactor* AuthService::AuthStatus(grpc::CallbackServerContext* context,
                                                  const etcdserverpb::AuthStatusRequest*,
                                                  etcdserverpb::AuthStatusResponse* response) {
  to_proto(ctx_->header(ctx_->watermark.load()), *response->mutable_header());
  response->set_enabled(false);
  response->set_authrevision(0);
  return finish_now(context, grpc::Status::OK);
}

}  // namespace revkv::etcdapi
