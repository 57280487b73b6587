#pragma once

// The floor of an HTTP/2 door: etcd's KV.Range served on libnghttp2 by one epoll thread,
// every call answered with floor::range_response() and nothing else done. With `hop`,
// each call goes to a worker thread and its answer comes back through a queue and an
// eventfd, as the MessagePack door hands a request to the node's actors and takes the
// answer back. What this costs per call, beside gRPC's own server doing the same
// (grpc_floor.hpp), is what a door of revkv's own on HTTP/2 would save
// (docs/BENCHMARKS.md, "The floor of a gRPC door").

#include <cstdint>
#include <memory>

namespace revkv::floor {

class Http2FloorServer {
 public:
  // Listens on 127.0.0.1:`port` (0: a free port); serves until destroyed.
  Http2FloorServer(uint16_t port, bool hop);
  ~Http2FloorServer();
  Http2FloorServer(const Http2FloorServer&) = delete;
  Http2FloorServer& operator=(const Http2FloorServer&) = delete;

  uint16_t port() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace revkv::floor
