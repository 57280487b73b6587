#pragma once

// Reading one sample out of revkvd's /metrics (the Prometheus text format), for the tests
// that check a door's counters.

#include "tests/monitoring/http_client.hpp"

#include <cstdint>
#include <map>
#include <sstream>
#include <string>

namespace revkv::testing {

// The series as prometheus-cpp writes it: labels sorted by name.
inline std::string series(const std::string& name,
                          const std::map<std::string, std::string>& labels) {
  std::string out = name;
  if (labels.empty()) return out;
  out += "{";
  bool first = true;
  for (const auto& [k, v] : labels) {
    if (!first) out += ",";
    first = false;
    out += k + "=\"" + v + "\"";
  }
  return out + "}";
}

// The value of `series` in `scrape`; -1 when the scrape has no such series.
inline double sample(const std::string& scrape, const std::string& series) {
  std::istringstream lines(scrape);
  for (std::string line; std::getline(lines, line);) {
    if (line.size() > series.size() && line.compare(0, series.size(), series) == 0 &&
        line[series.size()] == ' ')
      return std::stod(line.substr(series.size() + 1));
  }
  return -1;
}

inline std::string scrape_metrics(uint16_t port) {
  return http_get(port, "/metrics").body;
}

}  // namespace revkv::testing
