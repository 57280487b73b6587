#pragma once

// A plain HTTP/1.0 GET on 127.0.0.1 for the monitoring tests (revkvd's /metrics, the
// Prometheus server's API), with a receive timeout so a stuck server fails the test
// instead of hanging it.

#include <cstdint>
#include <string>

namespace revkv::testing {

struct HttpResponse {
  int status = 0;  // 0: no HTTP answer (refused, timed out, garbled)
  std::string body;
};

HttpResponse http_get(uint16_t port, const std::string& path_and_query);

// A port that was free a moment ago on 127.0.0.1 (for a child that takes no port 0).
uint16_t free_loopback_port();

}  // namespace revkv::testing
