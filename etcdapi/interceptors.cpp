#include "etcdapi/interceptors.hpp"

#include "etcdapi/metrics_interceptor.hpp"
#include "etcdapi/status_interceptor.hpp"
#include "metrics/grpc_server_metrics.hpp"

namespace revkv::etcdapi {

std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
make_interceptors(const actors::NodeContext& ctx) {
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> out;
  // Sending hooks run in this order: the counters see the status as rewritten.
  out.push_back(std::make_unique<StatusInterceptorFactory>());
  if (ctx.metrics) {
    out.push_back(std::make_unique<MetricsInterceptorFactory>(
        std::make_shared<metrics::GrpcServerMetrics>(ctx.metrics->registry())));
  }
  return out;
}

}  // namespace revkv::etcdapi
