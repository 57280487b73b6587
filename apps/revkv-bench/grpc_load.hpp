#pragma once

// revkv-bench --grpc: the closed loop over etcd's v3 gRPC API. `clients` clients keep one
// call in flight each, spread over `conns` channels; each issues its next call from the
// completion of the previous one. `grpc_threads` threads (1 by default) drive them, each
// draining its own completion queue (gRPC's asynchronous API), so a few threads drive any
// number of clients and a call's answer is handled on the thread that waited for it. The
// same ops as the MessagePack load (workload.hpp); `get` is a linearizable single-key Range,
// as etcd's default.

#include "apps/revkv-bench/bench.hpp"
#include "apps/revkv-bench/options.hpp"

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

namespace revkv::bench {

// Successful puts per key index: what watch mode owes each watcher.
using PutCounts = std::vector<std::atomic<uint32_t>>;

Report run_grpc(const Options& options, PutCounts* puts = nullptr);

// Puts every key once (64 clients over the channels), printing its progress to stderr
// every second.
PreloadResult preload_grpc(const Options& options);

}  // namespace revkv::bench
