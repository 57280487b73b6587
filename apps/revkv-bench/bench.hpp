#pragma once

// The closed loop: each connection (one thread, one client::Client) keeps `inflight`
// requests outstanding, issuing a new one for every response, until the duration is over;
// then it drains what is still in flight. Latency is measured from queueing a request to
// reading its response, per op, in a Histogram.

#include "apps/revkv-bench/histogram.hpp"
#include "apps/revkv-bench/options.hpp"
#include "apps/revkv-bench/stalls.hpp"
#include "apps/revkv-bench/workload.hpp"

#include <array>
#include <cstdint>
#include <string>

namespace revkv::bench {

struct OpStats {
  Histogram latency;  // successful ops, nanoseconds
  uint64_t errors = 0;
};

// The LISTs of a run (op `list`; its latency histogram counts pages). A LIST cut short by an
// error or by the end of the run is not counted.
struct ListStats {
  uint64_t complete = 0;    // LISTs read to their last page
  uint64_t keys = 0;        // keys they read, in all
  uint64_t mismatched = 0;  // of them, LISTs that did not read --keys keys in key order

  void record(const ListCursor& cursor);
};

struct Report {
  std::array<OpStats, kOpCount> ops;
  ListStats lists;
  double elapsed_s = 0;
  std::vector<SlowRequest> slow;  // with --stall-ms
  uint64_t failed_connections = 0;
  std::string first_error;  // the first error seen, for the operator
  // gRPC mode: the threads (completion queues) that took at least one answer.
  int grpc_threads = 0;

  void merge(const Report& other);
};

// What --preload did: its own rate, reported beside the measured load.
struct PreloadResult {
  std::string error;  // "" when every key was put
  int64_t keys = 0;   // keys put
  double seconds = 0;
};

// Puts every key once (pipelined on one connection), printing its progress to stderr
// every second.
PreloadResult preload(const Options& options);
Report run(const Options& options);

std::string format_text(const Report& report, const Options& options);
std::string format_json(const Report& report, const Options& options);

}  // namespace revkv::bench
