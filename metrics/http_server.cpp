#include "metrics/http_server.hpp"

#include "util/json.hpp"

#include <prometheus/text_serializer.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <chrono>
#include <optional>
#include <stdexcept>
#include <thread>
#include <utility>

namespace revkv::metrics {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

// Bounds on what a client of the metrics port can hold: a scraper sends a small GET, the
// test hook a bodiless POST. Past them a connection is answered 4xx or dropped.
constexpr size_t kMaxConnections = 64;
constexpr uint32_t kMaxHeaderBytes = 8 * 1024;
constexpr uint64_t kMaxBodyBytes = 64 * 1024;
// Each read or write must finish within this (a stalled or idle client is dropped).
constexpr std::chrono::seconds kIoDeadline{10};

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// application/x-www-form-urlencoded decoding of one name or value; nullopt if malformed.
std::optional<std::string> url_decode(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out += ' ';
    } else if (text[i] == '%') {
      if (i + 2 >= text.size()) return std::nullopt;
      int hi = hex_value(text[i + 1]);
      int lo = hex_value(text[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

}  // namespace

std::optional<std::string> query_param(const std::string& query, const char* name) {
  std::string_view rest = query;
  while (!rest.empty()) {
    auto amp = rest.find('&');
    std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
    auto eq = pair.find('=');
    auto key = url_decode(pair.substr(0, eq));
    if (!key || *key != name) continue;
    return url_decode(eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1));
  }
  return std::nullopt;
}

std::string health_json(const HealthReport& report) {
  return util::json::dump(
      {{"health", report.healthy ? "true" : "false"}, {"reason", report.reason}});
}

// The listening socket, the connections and the thread that runs them all.
class HttpServer::Listener {
 public:
  Listener(HttpServer& owner, const std::string& host, uint16_t port)
      : owner_(owner), acceptor_(io_) {
    beast::error_code ec;
    tcp::resolver resolver(io_);
    auto found = resolver.resolve(host, std::to_string(port),
                                  tcp::resolver::passive | tcp::resolver::numeric_service, ec);
    if (ec || found.empty())
      throw std::runtime_error("cannot resolve " + host + (ec ? ": " + ec.message() : ""));
    const tcp::endpoint endpoint = found.begin()->endpoint();
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) throw std::runtime_error(ec.message());
    port_ = acceptor_.local_endpoint().port();
    accept();
    thread_ = std::thread([this] { io_.run(); });
  }

  ~Listener() {
    io_.stop();
    thread_.join();
    // io_'s destructor then destroys the pending handlers, and with them the connections.
  }

  uint16_t port() const { return port_; }

 private:
  class Connection;

  void accept();

  HttpServer& owner_;
  asio::io_context io_;
  tcp::acceptor acceptor_;
  std::atomic<size_t> connections_{0};
  uint16_t port_ = 0;
  std::thread thread_;
};

// One client connection: requests answered one at a time, keep-alive as the client asks.
class HttpServer::Listener::Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(Listener& listener, tcp::socket socket)
      : listener_(listener), stream_(std::move(socket)) {
    ++listener_.connections_;
  }
  ~Connection() { --listener_.connections_; }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  void read() {
    parser_.emplace();
    parser_->header_limit(kMaxHeaderBytes);
    parser_->body_limit(kMaxBodyBytes);
    stream_.expires_after(kIoDeadline);
    http::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->on_read(ec); });
  }

 private:
  void on_read(beast::error_code ec) {
    if (ec == http::error::header_limit || ec == http::error::body_limit) {
      respond(ec == http::error::header_limit ? 431 : 413, "text/plain; charset=utf-8",
              ec.message() + "\n", /*keep_alive=*/false);
      return;
    }
    if (ec) return;  // closed, timed out or not HTTP: drop the connection
    const auto& request = parser_->get();
    serve(request, request.keep_alive());
  }

  void serve(const http::request<http::string_body>& request, bool keep_alive) {
    const std::string target(request.target());
    const auto question = target.find('?');
    const std::string path = target.substr(0, question);
    const std::string query = question == std::string::npos ? "" : target.substr(question + 1);
    const auto method = request.method();
    const bool get = method == http::verb::get || method == http::verb::head;
    HttpServer& owner = listener_.owner_;
    if (path == "/metrics" || path == "/health") {
      if (!get) {
        respond(405, "text/plain; charset=utf-8", "method not allowed\n", keep_alive, "GET, HEAD");
      } else if (path == "/metrics") {
        respond(200, "text/plain; version=0.0.4; charset=utf-8", owner.render_metrics(),
                keep_alive);
      } else {
        auto report = owner.health();
        respond(report.healthy ? 200 : 503, "application/json", health_json(report) + "\n",
                keep_alive);
      }
      return;
    }
    if (auto handler = owner.post_handler(path)) {
      if (method != http::verb::post) {
        respond(405, "text/plain; charset=utf-8", "method not allowed\n", keep_alive, "POST");
        return;
      }
      auto answer = handler(query);
      respond(static_cast<unsigned>(answer.status), "text/plain; charset=utf-8", answer.body + "\n",
              keep_alive);
      return;
    }
    respond(404, "text/plain; charset=utf-8", "not found\n", keep_alive);
  }

  void respond(unsigned status, const char* content_type, std::string body, bool keep_alive,
               const char* allow = nullptr) {
    const bool head = parser_ && parser_->get().method() == http::verb::head;
    response_.emplace(static_cast<http::status>(status), parser_ ? parser_->get().version() : 11);
    response_->set(http::field::content_type, content_type);
    response_->set(http::field::cache_control, "no-cache");
    if (allow != nullptr) response_->set(http::field::allow, allow);
    response_->keep_alive(keep_alive);
    response_->content_length(body.size());
    if (!head) response_->body() = std::move(body);
    stream_.expires_after(kIoDeadline);
    http::async_write(stream_, *response_,
                      [self = shared_from_this(), keep_alive](beast::error_code ec, size_t) {
                        if (ec || !keep_alive) {
                          beast::error_code ignored;
                          self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
                          return;
                        }
                        self->read();
                      });
  }

  Listener& listener_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::optional<http::response<http::string_body>> response_;
};

void HttpServer::Listener::accept() {
  acceptor_.async_accept([this](beast::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted) return;
    if (!ec) {
      // Over the bound the connection is closed unanswered; Prometheus retries next scrape.
      if (connections_.load() < kMaxConnections) {
        std::make_shared<Connection>(*this, std::move(socket))->read();
      }
    }
    accept();
  });
}

HttpServer::HttpServer(const std::string& host, uint16_t port, HealthCheck health)
    : health_(std::move(health)),
      listener_(std::make_unique<Listener>(*this, host, port)),
      port_(listener_->port()) {}

HttpServer::~HttpServer() {
  listener_.reset();
}

void HttpServer::add_post_handler(const std::string& path, PostFunction handler) {
  std::lock_guard lock(mutex_);
  post_handlers_.emplace_back(path, std::move(handler));
}

HttpServer::PostFunction HttpServer::post_handler(const std::string& path) const {
  std::lock_guard lock(mutex_);
  for (const auto& [known, handler] : post_handlers_)
    if (known == path) return handler;
  return nullptr;
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
  // Collected outside the lock: a test hook registered meanwhile does not wait on it.
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
