#pragma once

// etcd's KV methods (Range, Put, DeleteRange, Txn, Compact) and its unary Lease methods
// (LeaseGrant, LeaseRevoke, LeaseTimeToLive, LeaseLeases) served by revkv's HTTP/2 door
// itself (etcdapi/h2_door.hpp): the request parsed from the stream's one message goes to
// the request path through the same door actors (etcdapi/doors.hpp) as gRPC's server's
// calls, and the answer is written to the stream from the loop. What the gRPC services do
// around a unary call is done here too, with the same results: --max-request-bytes, the
// unsent-answer bound of a connection (etcd's "too many requests"), a connection's reads in
// turns (Loop::begin_read), the caller's token or
// certificate, go-grpc-prometheus's counters, a leadership drain's count.

#include "actors/node_context.hpp"
#include "etcdapi/doors.hpp"
#include "etcdapi/h2_live_count.hpp"
#include "etcdapi/h2_loop.hpp"
#include "metrics/grpc_server_metrics.hpp"

#include <array>
#include <memory>
#include <optional>
#include <string_view>

namespace revkv::etcdapi::h2 {

enum class UnaryMethod {
  range,
  put,
  delete_range,
  txn,
  compact,
  lease_grant,
  lease_revoke,
  lease_time_to_live,
  lease_leases,
};

// A served method's names: its gRPC path, and the service and method of its metrics.
struct UnaryMethodNames {
  std::string_view path;
  std::string_view service;
  std::string_view method;
};

// In UnaryMethod's order.
inline constexpr std::array<UnaryMethodNames, 9> kUnaryMethods{{
    {"/etcdserverpb.KV/Range", "etcdserverpb.KV", "Range"},
    {"/etcdserverpb.KV/Put", "etcdserverpb.KV", "Put"},
    {"/etcdserverpb.KV/DeleteRange", "etcdserverpb.KV", "DeleteRange"},
    {"/etcdserverpb.KV/Txn", "etcdserverpb.KV", "Txn"},
    {"/etcdserverpb.KV/Compact", "etcdserverpb.KV", "Compact"},
    {"/etcdserverpb.Lease/LeaseGrant", "etcdserverpb.Lease", "LeaseGrant"},
    {"/etcdserverpb.Lease/LeaseRevoke", "etcdserverpb.Lease", "LeaseRevoke"},
    {"/etcdserverpb.Lease/LeaseTimeToLive", "etcdserverpb.Lease", "LeaseTimeToLive"},
    {"/etcdserverpb.Lease/LeaseLeases", "etcdserverpb.Lease", "LeaseLeases"},
}};

// The method a path names, if the door serves it itself.
std::optional<UnaryMethod> served_method(std::string_view path);

// What every call served here shares; held by every call until its answer's task is gone
// (an answer the door actors give after the door stopped waiting finds it still there).
struct UnaryServices {
  actors::NodeContextPtr ctx;
  // The doors' ledger, for a leadership drain's count (it may outlive the doors).
  std::shared_ptr<AnswerLedger> ledger;
  // Owns the series below.
  std::shared_ptr<metrics::GrpcServerMetrics> metrics;
  Doors* doors = nullptr;
  // Answer bytes a connection may have unsent before its next call is refused.
  uint64_t unsent_answer_limit = 8u << 20;
  // go-grpc-prometheus's series of each method (null without metrics).
  std::array<const metrics::GrpcServerMetrics::Method*, kUnaryMethods.size()> series{};
  // Calls handed to the request path whose answers have not reached their loop yet.
  LiveCount in_flight;
};

std::unique_ptr<StreamHandler> serve_unary(Loop& loop, StreamRef ref, RequestHead head,
                                           UnaryMethod method,
                                           std::shared_ptr<UnaryServices> services);

}  // namespace revkv::etcdapi::h2
