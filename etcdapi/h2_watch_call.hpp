#pragma once

// etcd's Watch stream served by revkv's HTTP/2 door itself (etcdapi/h2_door.hpp), on the
// same door actor as gRPC's server's Watch streams (etcdapi/watch_door.hpp), opened and
// ended through the same WatchService, so close_all ends both kinds. What the stream's
// side does on the loop's thread:
//
//   - requests: each message parsed as a WatchRequest and handed to the door actor with its
//     caller (the stream's token or its connection's certificate CN, resolved for each
//     request as etcd does). At most kWatchRequestsOutstanding wait for their answers, and
//     none is taken while half the path's watch buffer of output waits for the client; the
//     messages behind stay on the stream, held against its HTTP/2 window, so a client that
//     floods a stream is held by flow control. A message that does not parse ends the
//     stream at once, Internal "grpc: failed to unmarshal the received message …", as etcd
//     3.4 (grpc-go) ends it; one with no request set is skipped, as etcd skips it.
//   - responses: serialized on the door actor's thread, queued on the stream, and handed to
//     the loop while the stream and its connection are below the loop's unsent limits, so
//     a stalled watch holds its backlog itself, not its connection. What is posted, queued
//     and held by the loop unsent is the path's watch backpressure (a client that does not
//     read gets its watchers parked, as on every door).
//   - the end: the stream ends when the path answers an error (the node failed), on
//     close_all (the server stops), when its grpc-timeout passes (DeadlineExceeded, a loop
//     timer cancelled with the stream), or when the client resets it or its connection
//     goes; its door actor stops with it. A client that half-closes keeps its watchers, as with etcd.
//   - go-grpc-prometheus's counters of etcdserverpb.Watch/Watch (bidi_stream): started,
//     each message received and sent, and the code it was handled with.
//
// Why here and not relayed to gRPC's Watch service: each event then crossed gRPC's
// in-process channel too, about half the MessagePack door's fan-out (docs/BENCHMARKS.md).

#include "etcdapi/h2_loop.hpp"
#include "metrics/grpc_server_metrics.hpp"

#include <memory>
#include <string_view>

namespace revkv::etcdapi {
class WatchService;
}

namespace revkv::etcdapi::h2 {

inline constexpr std::string_view kWatchPath = "/etcdserverpb.Watch/Watch";

// `series`: the method's counters, or null without metrics.
std::unique_ptr<StreamHandler> serve_watch(Loop& loop, StreamRef ref, const RequestHead& head,
                                           WatchService& service,
                                           const metrics::GrpcServerMetrics::Method* series);

}  // namespace revkv::etcdapi::h2
