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
#include <optional>
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

// What a POST handler answers: the status and a one-line plain-text body.
struct HttpAnswer {
  int status = 200;
  std::string body;
};

// The URL-decoded value of `name` in a query string ("actor=shard%3A1" -> "shard:1"), or
// nullopt when it is not there.
std::optional<std::string> query_param(const std::string& query, const char* name);

class HttpServer {
 public:
  using HealthCheck = std::function<HealthReport()>;
  // Gets the request's query string (without the '?').
  using PostFunction = std::function<HttpAnswer(const std::string& query)>;

  // Listens on host:port (port 0 picks a free port). Throws std::runtime_error when it
  // cannot (busy port, bad address).
  HttpServer(const std::string& host, uint16_t port, HealthCheck health);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Adds a source of /metrics. Held weakly, like prometheus::Exposer does: the caller
  // keeps it alive; an expired one is skipped.
  void add_collectable(std::weak_ptr<prometheus::Collectable> collectable);

  // Serves POST `path` (exact) with `handler`, on the listener's worker threads. Only the
  // test hooks use it (revkvd --test-hooks): without a call the path answers 404.
  void add_post_handler(const std::string& path, PostFunction handler);

  // The bound port (the one picked when 0 was asked for).
  uint16_t port() const { return port_; }

  // The /metrics body: every live collectable, serialized in the text format.
  std::string render_metrics() const;

 private:
  class MetricsHandler;
  class HealthHandler;
  class PostHandler;

  mutable std::mutex mutex_;
  std::vector<std::weak_ptr<prometheus::Collectable>> collectables_;
  // Declared before server_: the server (and its worker threads) goes first.
  std::unique_ptr<MetricsHandler> metrics_handler_;
  std::unique_ptr<HealthHandler> health_handler_;
  std::vector<std::unique_ptr<PostHandler>> post_handlers_;  // guarded by mutex_
  std::unique_ptr<CivetServer> server_;
  uint16_t port_ = 0;
};

}  // namespace revkv::metrics
