#include "metrics/http_server.hpp"

#include <prometheus/text_serializer.h>

#include <CivetServer.h>
#include <civetweb.h>
#include <stdexcept>
#include <utility>

namespace revkv::metrics {
namespace {

// Writes a whole response; civetweb adds the Date and connection headers.
void respond(mg_connection* conn, int status, const char* content_type, const std::string& body) {
  mg_response_header_start(conn, status);
  mg_response_header_add(conn, "Content-Type", content_type, -1);
  mg_response_header_add(conn, "Cache-Control", "no-cache", -1);
  std::string length = std::to_string(body.size());
  mg_response_header_add(conn, "Content-Length", length.c_str(), -1);
  mg_response_header_send(conn);
  mg_write(conn, body.data(), body.size());
}

// JSON string contents: the reasons are ours, but escape anyway so the line stays valid.
std::string json_escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

std::optional<std::string> query_param(const std::string& query, const char* name) {
  // mg_get_var: -1 not found, -2 buffer too small or bad arguments, else the decoded length.
  std::string value(query.size() + 1, '\0');
  int n = mg_get_var(query.data(), query.size(), name, value.data(), value.size());
  if (n < 0) return std::nullopt;
  value.resize(static_cast<size_t>(n));
  return value;
}

std::string health_json(const HealthReport& report) {
  return std::string(R"({"health":")") + (report.healthy ? "true" : "false") + R"(","reason":")" +
         json_escape(report.reason) + "\"}";
}

class HttpServer::MetricsHandler : public CivetHandler {
 public:
  explicit MetricsHandler(const HttpServer& owner) : owner_(owner) {}
  using CivetHandler::handleGet;
  bool handleGet(CivetServer*, mg_connection* conn) override {
    respond(conn, 200, "text/plain; version=0.0.4; charset=utf-8", owner_.render_metrics());
    return true;
  }

 private:
  const HttpServer& owner_;
};

class HttpServer::HealthHandler : public CivetHandler {
 public:
  explicit HealthHandler(HealthCheck check) : check_(std::move(check)) {}
  using CivetHandler::handleGet;
  bool handleGet(CivetServer*, mg_connection* conn) override {
    auto report = check_();
    respond(conn, report.healthy ? 200 : 503, "application/json", health_json(report) + "\n");
    return true;
  }

 private:
  HealthCheck check_;
};

class HttpServer::PostHandler : public CivetHandler {
 public:
  explicit PostHandler(PostFunction handler) : handler_(std::move(handler)) {}
  using CivetHandler::handlePost;
  bool handlePost(CivetServer*, mg_connection* conn) override {
    const mg_request_info* info = mg_get_request_info(conn);
    std::string query = info->query_string != nullptr ? info->query_string : "";
    auto answer = handler_(query);
    respond(conn, answer.status, "text/plain; charset=utf-8", answer.body + "\n");
    return true;
  }

 private:
  PostFunction handler_;
};

HttpServer::HttpServer(const std::string& host, uint16_t port, HealthCheck health)
    : metrics_handler_(std::make_unique<MetricsHandler>(*this)),
      health_handler_(std::make_unique<HealthHandler>(std::move(health))) {
  // Two workers, as prometheus::Exposer had. civetweb gives each connection a worker
  // thread for its lifetime: without keep-alive and with a 10 s request timeout, an
  // idle or stalled client cannot hold one of the two for long.
  std::vector<std::string> options = {"listening_ports",    host + ":" + std::to_string(port),
                                      "num_threads",        "2",
                                      "request_timeout_ms", "10000",
                                      "enable_keep_alive",  "no"};
  try {
    server_ = std::make_unique<CivetServer>(options);
  } catch (const CivetException& e) {
    throw std::runtime_error(e.what());
  }
  // "$": exact paths only (no /metrics/anything).
  server_->addHandler("/metrics$", metrics_handler_.get());
  server_->addHandler("/health$", health_handler_.get());
  auto ports = server_->getListeningPorts();
  if (ports.empty()) throw std::runtime_error("civetweb bound no port");
  port_ = static_cast<uint16_t>(ports.front());
}

HttpServer::~HttpServer() = default;

void HttpServer::add_post_handler(const std::string& path, PostFunction handler) {
  std::lock_guard lock(mutex_);
  post_handlers_.push_back(std::make_unique<PostHandler>(std::move(handler)));
  server_->addHandler(path + "$", post_handlers_.back().get());
}

void HttpServer::add_collectable(std::weak_ptr<prometheus::Collectable> collectable) {
  std::lock_guard lock(mutex_);
  collectables_.push_back(std::move(collectable));
}

std::string HttpServer::render_metrics() const {
  std::vector<std::weak_ptr<prometheus::Collectable>> sources;
  {
    std::lock_guard lock(mutex_);
    sources = collectables_;
  }
  // Collected outside the lock: two scrapes at once do not wait on each other.
  std::vector<prometheus::MetricFamily> families;
  for (const auto& weak : sources) {
    if (auto c = weak.lock()) {
      auto part = c->Collect();
      families.insert(families.end(), std::make_move_iterator(part.begin()),
                      std::make_move_iterator(part.end()));
    }
  }
  return prometheus::TextSerializer().Serialize(families);
}

}  // namespace revkv::metrics
