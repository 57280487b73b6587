#include "etcdapi/metrics_interceptor.hpp"

#include "etcdapi/status_interceptor.hpp"

#include <atomic>
#include <etcdserverpb/rpc.pb.h>
#include <google/protobuf/descriptor.h>
#include <grpcpp/server_context.h>
#include <string_view>

namespace revkv::etcdapi {

namespace {

using grpc::experimental::InterceptionHookPoints;
using Method = metrics::GrpcServerMetrics::Method;

// go-grpc-prometheus's grpc_type of a method.
std::string_view type_name(const google::protobuf::MethodDescriptor& m) {
  if (m.client_streaming()) return m.server_streaming() ? "bidi_stream" : "client_stream";
  return m.server_streaming() ? "server_stream" : "unary";
}

class MetricsInterceptor final : public grpc::experimental::Interceptor {
 public:
  MetricsInterceptor(const Method& method, grpc::experimental::ServerRpcInfo* info)
      : method_(method), info_(info) {
    method_.started->Increment();
  }

  // The call is over; one that sent no status (gRPC ended it) counts as cancelled.
  ~MetricsInterceptor() override {
    if (!handled_.exchange(true)) {
      if (received_) method_.msg_received->Increment();
      method_.handled_with(grpc::StatusCode::CANCELLED);
    }
  }

  void Intercept(grpc::experimental::InterceptorBatchMethods* batch) override {
    // A failed read (end of stream, cancellation, bytes that do not parse) has no message.
    // A raw method (KV.Range, etcdapi/kv_service.hpp) receives bytes and parses them in its
    // handler, which answers kUnparsableRequest when they do not parse: a unary call's
    // message is therefore counted when its status is known, as go-grpc-prometheus counts
    // only a message that decoded.
    if (batch->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_MESSAGE) &&
        batch->GetRecvMessage() != nullptr) {
      if (unary_) {
        received_ = true;
      } else {
        method_.msg_received->Increment();
      }
    }
    if (batch->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_MESSAGE))
      method_.msg_sent->Increment();
    if (batch->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS) &&
        !handled_.exchange(true)) {
      const auto status = batch->GetSendStatus();
      if (received_ && !(status.error_code() == grpc::StatusCode::INTERNAL &&
                         status.error_message() == kUnparsableRequest))
        method_.msg_received->Increment();
      auto* context = info_->server_context();
      method_.handled_with(context && context->IsCancelled() ? grpc::StatusCode::CANCELLED
                                                             : status.error_code());
    }
    batch->Proceed();
  }

 private:
  const Method& method_;
  grpc::experimental::ServerRpcInfo* info_;
  const bool unary_ = info_->type() == grpc::experimental::ServerRpcInfo::Type::UNARY;
  bool received_ = false;  // a unary call's one message, counted with its status
  // A stream's read and write may complete on two threads at once; the status once.
  std::atomic<bool> handled_{false};
};

}  // namespace

MetricsInterceptorFactory::MetricsInterceptorFactory(
    std::shared_ptr<metrics::GrpcServerMetrics> metrics)
    : metrics_(std::move(metrics)) {
  const auto* file = etcdserverpb::RangeRequest::descriptor()->file();
  for (int s = 0; s < file->service_count(); ++s) {
    const auto* service = file->service(s);
    for (int m = 0; m < service->method_count(); ++m) {
      const auto* method = service->method(m);
      methods_.emplace("/" + service->full_name() + "/" + method->name(),
                       &metrics_->add(type_name(*method), service->full_name(), method->name()));
    }
  }
}

grpc::experimental::Interceptor* MetricsInterceptorFactory::CreateServerInterceptor(
    grpc::experimental::ServerRpcInfo* info) {
  std::string_view name = info->method() ? info->method() : "";
  const Method* method = nullptr;
  if (auto it = methods_.find(name); it != methods_.end()) {
    method = it->second;
  } else {
    auto [service, method_name] = metrics::split_method_name(name);
    method = &metrics_->unknown(service, method_name);
  }
  // gRPC's interceptor API takes ownership of a raw pointer and deletes it when the call
  // is done (the accepted exception to "no raw new", like the callback reactors).
  return new MetricsInterceptor(*method, info);
}

}  // namespace revkv::etcdapi
