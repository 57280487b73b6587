#pragma once

// A plain HTTP/1.0 request on 127.0.0.1 for the tests that talk to revkvd's metrics
// listener (/metrics, /health, the test hooks) and to the Prometheus server's API, with
// socket timeouts so a stuck server fails the test instead of hanging it.

#include <cstdint>
#include <string>

namespace revkv::testing {

struct HttpResponse {
  int status = 0;  // 0: no HTTP answer (refused, timed out, garbled)
  std::string body;
};

// One request with an empty body (the server closes after its answer).
HttpResponse http_request(uint16_t port, const std::string& method,
                          const std::string& path_and_query);
HttpResponse http_get(uint16_t port, const std::string& path_and_query);

// A port that was free a moment ago on 127.0.0.1 (for a child that takes no port 0).
uint16_t free_loopback_port();

// A TCP connection to 127.0.0.1:port (close-on-exec, Nagle off), or -1 if refused.
int connect_loopback(uint16_t port);

}  // namespace revkv::testing
