#pragma once

// Stalls of the whole pipeline, told apart from slow single requests (--stall-ms): a closed
// loop with one request in flight per connection shows a stall of the server (every request
// in flight held at once: a fsync burst, a pause of the Raft loop) as one slow request on
// most connections within a short window, where a slow request of its own shows on one.
// docs/BENCHMARKS.md "The put latency's tail" found its causes this way.

#include <cstdint>
#include <string>
#include <vector>

namespace revkv::bench {

// The window in which half the connections must see a slow request to count a stall: shorter
// than the stalls looked for (~30-100 ms), longer than a normal round (~5 ms).
inline constexpr double kStallWindowMs = 50;

// A request that took longer than --stall-ms.
struct SlowRequest {
  double done_ms = 0;  // when its answer came, since the start of the run
  int connection = 0;
};

struct StallSummary {
  uint64_t slow = 0;     // slow requests
  uint64_t windows = 0;  // windows in which at least half the connections had a slow request
  std::vector<double> window_starts_ms;  // the first 20 of them
};

// Cuts the run into `window_ms` windows by completion time and counts those in which at
// least half of `connections` (and at least 2) had a slow request. Fixed windows: a stall
// whose answers straddle a boundary may count in neither, so this is a lower bound.
StallSummary summarize_stalls(const std::vector<SlowRequest>& slow, int connections,
                              double window_ms);

// "slow requests (> 20 ms): 1123; stall windows (50 ms in which half the connections or more
// had one): 22, at 1300 1750 ... ms".
std::string format_stalls(const StallSummary& summary, int stall_ms, double window_ms);

}  // namespace revkv::bench
