#pragma once

// The floor of revkvd's gRPC door: etcd's KV.Range on gRPC's own C++ server, the callback
// API with a raw (ByteBuffer) method as etcdapi/kv_service.cpp serves it, every call
// answered with floor::range_response() and nothing else done. With `hop`, one worker
// thread finishes each call, as the door's actors do. Beside Http2FloorServer
// (http2_floor.hpp), the same calls on libnghttp2.

#include <cstdint>
#include <memory>

namespace revkv::floor {

class GrpcFloorServer {
 public:
  // Listens on 127.0.0.1:`port` (0: a free port); serves until destroyed.
  GrpcFloorServer(uint16_t port, bool hop);
  ~GrpcFloorServer();
  GrpcFloorServer(const GrpcFloorServer&) = delete;
  GrpcFloorServer& operator=(const GrpcFloorServer&) = delete;

  uint16_t port() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace revkv::floor
