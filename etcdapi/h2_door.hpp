#pragma once

// revkv's own HTTP/2 door for etcd's gRPC API (revkvd --grpc-engine nghttp2, the default):
// the client port hands it every HTTP/2 connection, which one of its event loops
// (etcdapi/h2_loop.hpp, libnghttp2) serves. etcd's KV calls are served by the door itself
// (etcdapi/h2_unary_call.hpp) on the request path of the gRPC services, and so are Watch
// streams (etcdapi/h2_watch_call.hpp), on the Watch service's door actors, and
// LeaseKeepAlive streams (etcdapi/h2_keepalive_call.hpp); every other call — Snapshot,
// Lease, Maintenance, Cluster, Auth and unknown methods — is relayed in-process to gRPC's server
// and its services (etcdapi/h2_proxy_call.hpp), so their semantics stay in one place.
//
// Why: gRPC's C++ server costs about 8 µs of CPU per call more than HTTP/2 itself on
// libnghttp2 (docs/BENCHMARKS.md "The floor of a gRPC door"), most of what the gRPC door
// costs over the MessagePack door per get or put. docs/NODE.md "The HTTP/2 door" says what
// differs from gRPC's server.

#include "actors/leadership_drain.hpp"
#include "actors/node_context.hpp"
#include "etcdapi/h2_keepalive_call.hpp"
#include "etcdapi/h2_loop.hpp"
#include "etcdapi/h2_proxy_call.hpp"
#include "etcdapi/h2_unary_call.hpp"

#include <atomic>
#include <chrono>
#include <memory>
#include <vector>

namespace grpc {
class Channel;
}

namespace revkv::etcdapi {

class Doors;
class WatchService;

class Http2Door final : public h2::Dispatcher {
 public:
  struct Options {
    size_t loops = 1;
    // The largest request message taken off the wire (gRPC's max receive message size).
    size_t max_message_bytes = 4u << 20;
    uint64_t unsent_answer_limit = 8u << 20;
    // Serves Watch streams' door actors (it outlives this); null: they are relayed.
    WatchService* watch = nullptr;
  };

  // `in_process`: a channel to the gRPC server with the services (it outlives this);
  // `metrics`: the gRPC series, or null.
  Http2Door(std::shared_ptr<grpc::Channel> in_process, actors::NodeContextPtr ctx, Doors& doors,
            std::shared_ptr<metrics::GrpcServerMetrics> metrics, Options options);
  ~Http2Door() override;
  Http2Door(const Http2Door&) = delete;
  Http2Door& operator=(const Http2Door&) = delete;

  // Takes a client connection (any thread).
  void adopt(int fd);
  // GOAWAY on every connection: clients open no new stream here.
  void refuse_new_streams();
  // Cancels the LeaseKeepAlive streams it serves, and every later one (the server stops).
  void cancel_keepalives() { keepalives_.cancel_all(); }
  // Waits until `deadline` for the relayed calls to end (before the gRPC server shuts down:
  // its in-process channel carries their answers).
  void wait_relays(std::chrono::steady_clock::time_point deadline) { relays_->wait_none(deadline); }
  // A leadership drain begins (actors/leadership_drain.hpp): every connection open now is
  // told that no new stream is taken on it (h2::Loop::begin_drain). Returns the drain's
  // condition: no call left in the door (h2::Loop::settled), which holds only the loops'
  // mailboxes and so may outlive the door. Any thread but a loop's.
  actors::DrainSignal::Condition begin_drain();
  // Waits until `deadline` for the answers of the calls in flight and for the relayed calls
  // to end, then closes every connection. Call once the gRPC server has shut down.
  void finish(std::chrono::steady_clock::time_point deadline);

  std::unique_ptr<h2::StreamHandler> open(h2::Loop& loop, h2::StreamRef ref,
                                          h2::RequestHead head) override;

 private:
  std::unique_ptr<grpc::GenericStub> stub_;
  std::shared_ptr<h2::LiveCount> relays_ = std::make_shared<h2::LiveCount>();
  std::shared_ptr<h2::UnaryServices> unary_ = std::make_shared<h2::UnaryServices>();
  WatchService* watch_ = nullptr;
  const metrics::GrpcServerMetrics::Method* watch_series_ = nullptr;
  h2::KeepAliveStreams keepalives_;
  const metrics::GrpcServerMetrics::Method* keepalive_series_ = nullptr;
  std::vector<std::unique_ptr<h2::Loop>> loops_;
  std::atomic<size_t> next_loop_{0};
};

}  // namespace revkv::etcdapi
