#pragma once

// A real Prometheus server (Debian's `prometheus`, installed by scripts/setup) for the
// monitoring tests: started on a free loopback port with a temporary TSDB, scraping the
// given targets every second and evaluating the shipped alert rules every second, stopped
// (SIGTERM, then SIGKILL) by PID when it goes out of scope.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace revkv::testing {

// configs/alerts.yml as an absolute path: REVKVD_SHIPPED_ALERTS (Bazel's runfiles) or the
// source tree (CMake's REVKV_CONFIGS_DIR).
std::string shipped_alerts();

class PrometheusProcess {
 public:
  // Writes its config into `dir`, starts it and waits up to 60 s for /-/ready. Fails the
  // test (REQUIRE) when the binary is missing or it does not get ready.
  PrometheusProcess(const std::string& dir, const std::vector<uint16_t>& metrics_ports);
  ~PrometheusProcess();
  PrometheusProcess(const PrometheusProcess&) = delete;
  PrometheusProcess& operator=(const PrometheusProcess&) = delete;

  uint16_t port() const { return port_; }
  bool running();
  // Its log so far (for INFO on failure).
  std::string log() const;

 private:
  bool reaped(std::chrono::seconds limit);
  std::string log_file_;
  uint16_t port_ = 0;
  pid_t pid_ = -1;
};

// `text` percent-encoded for a URL query value.
std::string url_encode(const std::string& text);

// 250 ms, between two polls of a condition (not a synchronisation by itself).
void poll_pause();

// Polls `probe` every 250 ms until it returns a value (or true), for at most `limit`.
template <class Probe>
auto eventually(Probe probe, std::chrono::seconds limit) -> decltype(probe()) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (auto v = probe()) return v;
    poll_pause();
  }
  return probe();
}

}  // namespace revkv::testing
