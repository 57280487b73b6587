#pragma once

// The server interceptors of the gRPC door, in the order gRPC runs their sending hooks:
// grpc-go's codes and texts where gRPC C++ writes its own (etcdapi/status_interceptor.hpp),
// then the go-grpc-prometheus counters (etcdapi/metrics_interceptor.hpp) when the node
// exposes metrics.

#include "actors/node_context.hpp"

#include <grpcpp/support/server_interceptor.h>
#include <memory>
#include <vector>

namespace revkv::etcdapi {

std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
make_interceptors(const actors::NodeContext& ctx);

}  // namespace revkv::etcdapi
