#include "etcdapi/status_interceptor.hpp"

#include "metrics/grpc_server_metrics.hpp"

#include <etcdserverpb/rpc.pb.h>
#include <google/protobuf/descriptor.h>
#include <string>
#include <string_view>

namespace revkv::etcdapi {

namespace {

using grpc::experimental::InterceptionHookPoints;
using grpc::experimental::ServerRpcInfo;

// grpc-go's text for a method no service serves, or for one rpc.proto declares and revkvd
// does not serve (none since the Auth service is served; kept for a future rpc.proto): what
// grpc-go's generated Unimplemented server answers.
std::string unimplemented_text(std::string_view full_name) {
  auto [service, method] = metrics::split_method_name(full_name);
  const auto* file = etcdserverpb::RangeRequest::descriptor()->file();
  const auto* s = file->pool()->FindServiceByName(std::string(service));
  if (!s) return "unknown service " + std::string(service);
  if (!s->FindMethodByName(std::string(method)))
    return "unknown method " + std::string(method) + " for service " + std::string(service);
  return "method " + std::string(method) + " not implemented";
}

class StatusInterceptor final : public grpc::experimental::Interceptor {
 public:
  explicit StatusInterceptor(ServerRpcInfo* info) : info_(info) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* batch) override {
    // A unary or server-streaming call reads exactly one message, before its handler runs.
    bool one_message = info_->type() == ServerRpcInfo::Type::UNARY ||
                       info_->type() == ServerRpcInfo::Type::SERVER_STREAMING;
    if (one_message && batch->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_MESSAGE))
      unparsable_ = batch->GetRecvMessage() == nullptr;
    if (batch->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      auto status = batch->GetSendStatus();
      if (status.error_code() == grpc::StatusCode::UNIMPLEMENTED && status.error_message().empty())
        rewrite(batch);
    }
    batch->Proceed();
  }

 private:
  void rewrite(grpc::experimental::InterceptorBatchMethods* batch) const {
    if (unparsable_) {
      batch->ModifySendStatus(grpc::Status(grpc::StatusCode::INTERNAL, kUnparsableRequest));
      return;
    }
    batch->ModifySendStatus(
        grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                     unimplemented_text(info_->method() ? info_->method() : "")));
  }

  ServerRpcInfo* info_;
  bool unparsable_ = false;  // written before the handler runs, read when it finishes
};

}  // namespace

grpc::experimental::Interceptor* StatusInterceptorFactory::CreateServerInterceptor(
    ServerRpcInfo* info) {
  // Raw new: gRPC's interceptor API takes ownership and deletes it when the call is done.
  return new StatusInterceptor(info);
}

}  // namespace revkv::etcdapi
