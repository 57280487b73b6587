#pragma once

// The metrics address (--listen-metrics): `/metrics` in the Prometheus text format and
// `/health` as one line of JSON. prometheus-cpp 1.0's Exposer cannot host a handler of our
// own (docs/METRICS.md), so this is a small HTTP/1.1 server of Boost.Beast on one thread of
// its own (the parser, limits and deadlines the JSON gateway uses too). Handlers run on
// that thread (and render_metrics() on the client port's gateway threads too: GET /metrics
// there): they read collectables and atomics, never an actor. It stops at once
// (civetweb, used before, took up to 2 s to notice its stop flag).

#include <prometheus/collectable.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

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

// The URL-decoded value of `name` in a query string ("actor=shard%3A1" -> "shard:1", '+'
// as a space), or nullopt when it is not there or badly encoded.
std::optional<std::string> query_param(const std::string& query, const char* name);

class HttpServer {
 public:
  using HealthCheck = std::function<HealthReport()>;
  // Gets the request's query string (without the '?').
  using PostFunction = std::function<HttpAnswer(const std::string& query)>;

  // Listens on host:port (port 0 picks a free port). Throws std::runtime_error when it
  // cannot (busy port, bad address), with the system's reason.
  HttpServer(const std::string& host, uint16_t port, HealthCheck health);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Adds a source of /metrics. Held weakly, like prometheus::Exposer does: the caller
  // keeps it alive; an expired one is skipped.
  void add_collectable(std::weak_ptr<prometheus::Collectable> collectable);

  // Serves POST `path` (exact) with `handler`, on the listener's thread. Only the test
  // hooks use it (revkvd --test-hooks): without a call the path answers 404.
  void add_post_handler(const std::string& path, PostFunction handler);

  // The bound port (the one picked when 0 was asked for).
  uint16_t port() const { return port_; }

  // The /metrics body: every live collectable, serialized in the text format.
  std::string render_metrics() const;

 private:
  class Listener;
  friend class Listener;

  HealthReport health() const { return health_(); }
  // The handler of POST `path`, or null.
  PostFunction post_handler(const std::string& path) const;

  const HealthCheck health_;
  mutable std::mutex mutex_;
  std::vector<std::weak_ptr<prometheus::Collectable>> collectables_;  // guarded by mutex_
  std::vector<std::pair<std::string, PostFunction>> post_handlers_;   // guarded by mutex_
  // Last: its thread, which calls the members above, stops first.
  std::unique_ptr<Listener> listener_;
  uint16_t port_ = 0;
};

}  // namespace revkv::metrics
