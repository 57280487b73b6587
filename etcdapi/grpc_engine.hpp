#pragma once

// What speaks HTTP/2 to gRPC clients on revkvd's client port (revkvd --grpc-engine;
// docs/NODE.md "The HTTP/2 door"): revkv's own door on libnghttp2, or gRPC's C++ server
// itself. Apart from etcdapi/server.hpp so that the flag's parser needs nothing else.

namespace revkv::etcdapi {

enum class GrpcEngine { nghttp2, grpc };

}  // namespace revkv::etcdapi
