#pragma once

// revkv-bench --grpc --watch: `watchers` single-key watchers (watcher j on key j mod keys)
// over `watch_streams` Watch streams (bidirectional, gRPC's callback API, spread over `conns`
// channels), then the put load of run_grpc. Every event is counted and checked: each
// watcher's events must come in revision order, and it must receive one event per put of
// its key that succeeded — the run waits for them (60 s at most after the load) and
// reports what it got against what was owed.

#include "apps/revkv-bench/options.hpp"
#include "apps/revkv-bench/watch_bench.hpp"

namespace revkv::bench {

WatchReport run_grpc_watch(const Options& options);

}  // namespace revkv::bench
