#pragma once

// Where a Watch stream's door actor (etcdapi/watch_door.hpp) writes: the stream itself, as
// its transport carries it. gRPC's server (etcdapi/watch_outbox.hpp) and revkv's HTTP/2 door
// (etcdapi/h2_watch_call.hpp) each give one per stream, so the watch-stream protocol behind
// them stays one.

#include <cstddef>
#include <cstdint>
#include <etcdserverpb/rpc.pb.h>
#include <grpcpp/support/status.h>

namespace revkv::etcdapi {

// Requests of one stream waiting for their answers before its side stops reading: creates
// and cancels are answered in a few milliseconds, so this only binds a client that floods a
// stream faster than the node answers.
inline constexpr size_t kWatchRequestsOutstanding = 64;

class WatchSink {
 public:
  virtual ~WatchSink() = default;

  // -- the door's thread
  // Queues a response for the client.
  virtual void push(etcdserverpb::WatchResponse response) = 0;
  // One request of the stream got its answer: the stream may take another.
  virtual void answered() = 0;
  // Bytes queued and not yet taken by the client (the path's watch backpressure). After
  // it said half the path's watch buffer or more, the door hears grpc_sent_atom as the
  // client takes them.
  virtual uint64_t unsent_bytes() const = 0;

  // -- any thread: ends the stream with `status` (once; later calls do nothing).
  virtual void finish(grpc::Status status) = 0;
};

}  // namespace revkv::etcdapi
