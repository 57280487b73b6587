#pragma once

// A call that revkv's HTTP/2 door (etcdapi/h2_door.hpp) does not serve itself, relayed to
// revkvd's gRPC services in-process: the Watch and LeaseKeepAlive streams, Snapshot, the
// Lease, Maintenance, Cluster and Auth calls, and unknown methods (which gRPC's server
// answers Unimplemented in etcd's words). Every method is relayed as a bidirectional
// stream of raw messages: on the wire a unary call is a stream of one message each way.
//
// The client's metadata goes with the call (its token), its grpc-timeout becomes the
// deadline, and its connection's descriptor goes under kRelayedFdKey for the certificate
// check. Each message of the answer goes to the client's stream; once that stream holds
// more than the loop's per-stream limit unsent, no more is read until it drains (a watch
// whose client does not read then backs up into the watch service's own bounds). Requests
// the service has not taken yet are held up to kMaxQueuedRequestBytes; past that the stream
// ends ResourceExhausted.

#include "etcdapi/h2_loop.hpp"

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <grpcpp/generic/generic_stub.h>
#include <memory>
#include <mutex>

namespace revkv::etcdapi::h2 {

// Counts the relayed calls that have not ended, so that the door can wait for them before
// the in-process channel goes.
class RelayCount {
 public:
  void add() {
    std::lock_guard lock(mu_);
    ++live_;
  }
  void done() {
    std::lock_guard lock(mu_);
    if (--live_ == 0) ended_.notify_all();
  }
  // True when none is left before `deadline`.
  bool wait_none(std::chrono::steady_clock::time_point deadline) {
    std::unique_lock lock(mu_);
    return ended_.wait_until(lock, deadline, [this] { return live_ == 0; });
  }

 private:
  std::mutex mu_;
  std::condition_variable ended_;
  int64_t live_ = 0;
};

inline constexpr uint64_t kMaxQueuedRequestBytes = 8u << 20;

// Opens the relayed call for a stream whose headers are in; the handler it returns feeds it.
std::unique_ptr<StreamHandler> relay_call(Loop& loop, StreamRef ref, RequestHead head,
                                          grpc::GenericStub& stub, RelayCount& count);

}  // namespace revkv::etcdapi::h2
