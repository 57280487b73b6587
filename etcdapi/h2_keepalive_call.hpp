#pragma once

// etcd's LeaseKeepAlive stream served by revkv's HTTP/2 door itself (etcdapi/h2_door.hpp),
// as gRPC's Lease service serves it (etcdapi/lease_service.cpp): one request at a time goes
// to one door actor of the stream (its requests meet one request path, in order), and its
// answer is written before the next request is taken, so answers come in request order. A
// client that writes ahead has its requests held on the stream, counted against its HTTP/2
// window; one that does not read has the next request wait while the stream or its
// connection is over the loop's unsent limits.
//
//   - An answer that is an error (the node failed, a leadership drain) ends the stream with
//     it, as etcd does; so does its grpc-timeout (DeadlineExceeded). A message that does not parse
//     ends it Internal, in etcd 3.4's (grpc-go's) words. The client's half-close ends it OK once
//     what it sent is answered.
//   - Open streams are cancelled when the server stops (cancel_all), as gRPC's server's are,
//     so that its shutdown does not wait for them.
//   - go-grpc-prometheus's counters of etcdserverpb.Lease/LeaseKeepAlive (bidi_stream).
//
// Why here: a keep-alive relayed to gRPC's service crossed its in-process channel twice.

#include "etcdapi/h2_loop.hpp"
#include "etcdapi/h2_unary_call.hpp"
#include "metrics/grpc_server_metrics.hpp"

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>
#include <unordered_set>

namespace revkv::etcdapi::h2 {

inline constexpr std::string_view kLeaseKeepAlivePath = "/etcdserverpb.Lease/LeaseKeepAlive";

// The open keep-alive streams of a door, to cancel them when the server stops.
class KeepAliveStreams {
 public:
  class Stream {
   public:
    virtual ~Stream() = default;
    // Any thread: ends the stream Cancelled.
    virtual void cancel() = 0;
  };
  // false: the server is stopping, the stream is to be cancelled at once.
  bool opened(const std::shared_ptr<Stream>& stream);
  void closed(const std::shared_ptr<Stream>& stream);
  // Cancels every open stream and every later one.
  void cancel_all();

 private:
  std::mutex mu_;
  std::unordered_set<std::shared_ptr<Stream>> open_;
  bool cancelling_ = false;
};

// `series`: the method's counters, or null without metrics; `timeout`: the call's
// grpc-timeout, after which the stream ends DeadlineExceeded (as etcd's does once its
// stream's context expires).
std::unique_ptr<StreamHandler> serve_keepalive(Loop& loop, StreamRef ref,
                                               std::optional<std::chrono::nanoseconds> timeout,
                                               std::shared_ptr<UnaryServices> services,
                                               KeepAliveStreams& streams,
                                               const metrics::GrpcServerMetrics::Method* series);

}  // namespace revkv::etcdapi::h2
