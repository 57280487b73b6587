#include "apps/revkv-bench/stalls.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

namespace revkv::bench {

StallSummary summarize_stalls(const std::vector<SlowRequest>& slow, int connections,
                              double window_ms) {
  StallSummary out;
  out.slow = slow.size();
  std::map<int64_t, std::set<int>> by_window;  // window number -> connections with one
  for (const auto& s : slow)
    by_window[static_cast<int64_t>(std::floor(s.done_ms / window_ms))].insert(s.connection);
  const std::size_t enough = static_cast<std::size_t>(std::max(2, (connections + 1) / 2));
  for (const auto& [window, conns] : by_window) {
    if (conns.size() < enough) continue;
    ++out.windows;
    if (out.window_starts_ms.size() < 20)
      out.window_starts_ms.push_back(static_cast<double>(window) * window_ms);
  }
  return out;
}

std::string format_stalls(const StallSummary& summary, int stall_ms, double window_ms) {
  std::string out =
      "slow requests (> " + std::to_string(stall_ms) + " ms): " + std::to_string(summary.slow) +
      "; stall windows (" + std::to_string(static_cast<int>(window_ms)) +
      " ms in which half the connections or more had one): " + std::to_string(summary.windows);
  if (!summary.window_starts_ms.empty()) {
    out += ", at";
    for (double t : summary.window_starts_ms)
      out += " " + std::to_string(static_cast<int64_t>(t));
    out += summary.windows > summary.window_starts_ms.size() ? " ... ms" : " ms";
  }
  return out + "\n";
}

}  // namespace revkv::bench
