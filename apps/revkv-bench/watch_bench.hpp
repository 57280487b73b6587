#pragma once

// revkv-bench --watch: `watchers` single-key watchers (watcher j on key j mod keys), spread
// over `watch_streams` connections, receive the events of the put load that run() then
// generates. Each put's value starts with its send time, so every delivered event gives a
// write-to-watcher latency. After the load, each stream waits for a progress answer: every
// event of the run has been delivered once it comes.

#include "apps/revkv-bench/bench.hpp"
#include "apps/revkv-bench/histogram.hpp"
#include "apps/revkv-bench/options.hpp"

#include <cstdint>
#include <string>

namespace revkv::bench {

struct WatchReport {
  Report writes;       // the put load
  Histogram delivery;  // nanoseconds from sending a put to reading its event
  uint64_t events = 0;
  // gRPC mode counts what each watcher is owed: one event per successful put of its key
  // (`expected`), and events that came with a revision not above the watcher's previous one.
  bool counted = false;
  uint64_t expected = 0;
  uint64_t out_of_order = 0;
  uint64_t failed_streams = 0;
  std::string first_error;
  double elapsed_s = 0;  // from the first put to the last event
};

WatchReport run_watch(const Options& options);

std::string format_watch_text(const WatchReport& report, const Options& options);
std::string format_watch_json(const WatchReport& report, const Options& options);

}  // namespace revkv::bench
