#pragma once

// The server interceptors of the gRPC door, in the order gRPC runs their sending hooks:
// grpc-go's codes and texts where gRPC C++ writes its own (etcdapi/status_interceptor.hpp),
// then the go-grpc-prometheus counters (etcdapi/metrics_interceptor.hpp) when the node
// exposes metrics (`metrics` not null; revkv's HTTP/2 door counts the calls it serves
// itself in the same series).

#include "metrics/grpc_server_metrics.hpp"

#include <grpcpp/support/server_interceptor.h>
#include <memory>
#include <vector>

namespace revkv::etcdapi {

std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
make_interceptors(std::shared_ptr<metrics::GrpcServerMetrics> metrics);

}  // namespace revkv::etcdapi
