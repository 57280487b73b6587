#include "etcdapi/interceptors.hpp"

#include "etcdapi/metrics_interceptor.hpp"
#include "etcdapi/status_interceptor.hpp"

namespace revkv::etcdapi {

std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
make_interceptors(std::shared_ptr<metrics::GrpcServerMetrics> metrics) {
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> out;
  // Sending hooks run in this order: the counters see the status as rewritten.
  out.push_back(std::make_unique<StatusInterceptorFactory>());
  if (metrics) out.push_back(std::make_unique<MetricsInterceptorFactory>(std::move(metrics)));
  return out;
}

}  // namespace revkv::etcdapi
