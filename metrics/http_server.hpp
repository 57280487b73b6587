#pragma once

// The metrics address (--listen-metrics): `/metrics` in the Prometheus text format and
// `/health` as one line of JSON, served by one civetweb listener. prometheus-cpp 1.0's
// Exposer cannot host a handler of our own (docs/METRICS.md), so this replaces it with
// the same server library Debian's prometheus-cpp-pull is built on. Handlers run on
// civetweb's worker threads: they read collectables and atomics, never an actor.

#include <prometheus/collectable.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

class CivetServer;

namespace revkv::metrics {

// What /health answers: 200 when healthy, else 503 with the reason.
struct HealthReport {
  bool healthy = false;
  std::string reason;
};

// One line of JSON, etcd's shape: {"health":"true","reason":""}.
std::string health_json(const HealthReport& report);

class HttpServer {
 public:
  using HealthCheck = std::function<HealthReport()>;

  // Listens on host:port (port 0 picks a free port). Throws std::runtime_error when it
  // cannot (busy port, bad address).
  HttpServer(const std::string& host, uint16_t port, HealthCheck health);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Adds a source of /metrics. Held weakly, like prometheus::Exposer does: the caller
  // keeps it alive; an expired one is skipped.
  void add_collectable(std::weak_ptr<prometheus::Collectable> collectable);

  // The bound port (the one picked when 0 was asked for).
  uint16_t port() const { return port_; }

  // The /metrics body: every live collectable, serialized in the text format.
  std::string render_metrics() const;

 private:
  class MetricsHandler;
  class HealthHandler;

  mutable std::mutex mutex_;
  std::vector<std::weak_ptr<prometheus::Collectable>> collectables_;
  // Declared before server_: the server (and its worker threads) goes first.
  std::unique_ptr<MetricsHandler> metrics_handler_;
  std::unique_ptr<HealthHandler> health_handler_;
  std::unique_ptr<CivetServer> server_;
  uint16_t port_ = 0;
};

}  // namespace revkv::metrics
