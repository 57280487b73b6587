#pragma once

// go-grpc-prometheus's counters for the gRPC door (metrics/grpc_server_metrics.hpp),
// counted by a gRPC server interceptor, so every call is seen in one place whatever its
// service and kind (unary, server stream, bidirectional stream) and also the calls no
// service takes (unknown methods, answered Unimplemented by gRPC itself):
//
//   started       when the call is created on the server
//   msg_received  each message received and parsed (POST_RECV_MESSAGE with a message)
//   msg_sent      each message handed to gRPC to send (PRE_SEND_MESSAGE)
//   handled       once, with the status sent (PRE_SEND_STATUS); Canceled when the client
//                 cancelled or went away first (etcd's handlers return the stream's context
//                 error then), or when the call ends without a status
//
// The methods are those of the services in etcd's rpc.proto (protobuf's descriptors), so
// every method a client may call has its series from the start, served or not yet.

#include "metrics/grpc_server_metrics.hpp"

#include <grpcpp/support/server_interceptor.h>
#include <map>
#include <memory>
#include <string>

namespace revkv::etcdapi {

class MetricsInterceptorFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  // Creates the series of every method of every service of etcd's rpc.proto.
  explicit MetricsInterceptorFactory(std::shared_ptr<metrics::GrpcServerMetrics> metrics);

  // gRPC owns (and deletes) what this returns, one per call.
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override;

 private:
  std::shared_ptr<metrics::GrpcServerMetrics> metrics_;
  // "/etcdserverpb.KV/Range" -> its series; not changed after construction.
  std::map<std::string, const metrics::GrpcServerMetrics::Method*, std::less<>> methods_;
};

}  // namespace revkv::etcdapi
