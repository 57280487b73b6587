#pragma once

// What one Watch stream's door actor (etcdapi/watch_door.hpp) and its gRPC reactor
// (etcdapi/watch_service.cpp) share: the responses waiting to be written, the read credit,
// and the one Finish of the call.
//
// gRPC allows one write in flight per stream, and a reactor must not be touched after
// OnDone, which may follow Finish at once. So every call into the reactor from the door's
// thread goes through a gate: the outbox counts such calls in progress (`busy_`) and runs
// Finish only when none is in progress and no write is in flight; after Finish nothing
// calls the reactor again. The lock is never held while calling gRPC.
//
// Reads are credited: the reactor reads the next request only while fewer than
// `max_outstanding` of the stream's requests wait for their answers, so a client that sends
// faster than the node answers queues nothing in the node (HTTP/2 flow control holds it).

#include "etcdapi/watch_sink.hpp"

#include <caf/actor.hpp>

#include <atomic>
#include <cstdint>
#include <deque>
#include <etcdserverpb/rpc.grpc.pb.h>
#include <grpcpp/grpcpp.h>
#include <mutex>
#include <optional>

namespace revkv::etcdapi {

// The reactor as the outbox sees it.
class WatchCall
    : public grpc::ServerBidiReactor<etcdserverpb::WatchRequest, etcdserverpb::WatchResponse> {
 public:
  // Starts reading the next request into the call's own buffer.
  virtual void read_next() = 0;
};

class WatchOutbox final : public WatchSink {
 public:
  WatchOutbox(WatchCall* call, size_t max_outstanding);

  // The door actor, told when the outbox drained (grpc_sent_atom) and stopped at OnDone.
  void set_door(caf::actor door);

  // -- the door's thread
  // Queues a response and starts writing it if no write is in flight.
  void push(etcdserverpb::WatchResponse response) override;
  // One request of the stream got its answer: reading may resume.
  void answered() override;
  // Bytes queued and not yet taken by gRPC (the path's watch backpressure).
  uint64_t unsent_bytes() const override { return unsent_.load(std::memory_order_relaxed); }

  // -- any thread: ends the call with `status` (once; later calls do nothing).
  void finish(grpc::Status status) override;

  // -- the reactor's reactions
  // A request was read and handed to the door: whether to read the next one now.
  bool read_and_may_read_next();
  // The client closed its side: etcd keeps the stream, serving the watchers it has.
  void reads_ended();
  void write_done(bool ok);
  // OnDone: the reactor is gone; stops the door.
  void done();

 private:
  struct Queued {
    etcdserverpb::WatchResponse response;
    uint64_t bytes = 0;
  };
  // With mu_ held: whether the pending Finish may run now (and marks it run).
  std::optional<grpc::Status> take_finish_locked();
  void run_finish(std::optional<grpc::Status> status);
  // Leaves a gated call into the reactor; runs a Finish that waited for it.
  void leave_gate();

  const size_t max_outstanding_;
  mutable std::mutex mu_;
  WatchCall* call_;  // null after done()
  caf::actor door_;
  std::deque<Queued> queue_;  // front() is being written while writing_
  bool writing_ = false;
  size_t outstanding_ = 0;  // requests read whose answer has not come yet
  bool read_paused_ = false;
  bool reads_ended_ = false;
  int busy_ = 0;  // calls into the reactor from the door's thread in progress
  std::optional<grpc::Status> finish_wanted_;
  bool finished_ = false;
  std::atomic<uint64_t> unsent_{0};
};

}  // namespace revkv::etcdapi
