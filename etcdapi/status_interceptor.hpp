#pragma once

// Gives the statuses gRPC C++ writes by itself the code and text grpc-go (so etcd) writes,
// at PRE_SEND_STATUS:
//
//   - a request that does not parse: gRPC C++'s callback API answers Unimplemented with no
//     text; etcd answers Internal "grpc: error unmarshalling request: <decoder's reason>".
//     Seen as a unary or server-streaming call whose one message arrived without parsing.
//     (A bidirectional stream cannot tell a bad message from the end of the stream: its
//     read fails and the stream ends as when the client closes it.)
//   - an unknown service or method: Unimplemented with no text; etcd (grpc-go) writes
//     "unknown service S" or "unknown method M for service S". Known from the descriptors
//     of etcd's rpc.proto.
//
// Codes and texts clients match on come from the handlers; this only fills the ones gRPC
// leaves empty.

#include <grpcpp/support/server_interceptor.h>

namespace revkv::etcdapi {

// The text written for a request that does not parse.
inline constexpr const char* kUnparsableRequest =
    "grpc: error unmarshalling request: malformed protobuf message";
// What revkv's HTTP/2 door writes for a message of a bidirectional stream that does not
// parse: grpc-go's text for a stream message (so etcd 3.4's; its unary text is the one
// above), then the decoder's reason in words of our own (Go's name Go's protobuf package).
inline constexpr const char* kUnparsableStreamMessage =
    "grpc: failed to unmarshal the received message malformed protobuf message";

class StatusInterceptorFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  // gRPC owns (and deletes) what this returns, one per call.
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override;
};

}  // namespace revkv::etcdapi
