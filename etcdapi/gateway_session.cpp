#include "etcdapi/gateway_session.hpp"

#include "etcdapi/gateway_json.hpp"
#include "util/json.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/chunk_encode.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/none.hpp>
#include <ctime>
#include <grpcpp/support/slice.h>
#include <string_view>
#include <vector>

namespace revkv::etcdapi::gateway {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace {

// etcd 3.4.23's answer to GET /version: clients read these as the API level to speak.
constexpr std::string_view kVersionBody = R"({"etcdserver":"3.4.23","etcdcluster":"3.4.0"})";
constexpr std::string_view kHealthBody = R"({"health":"true"})";
// etcd writes an unhealthy answer with Go's http.Error: 503 and a newline.
constexpr std::string_view kUnhealthyBody = "{\"health\":\"false\"}\n";
constexpr const char* kJson = "application/json";
// Go's net/http drains at most this much of an unread request body before it writes an
// answer (maxPostHandlerReadBytes); beyond it, it answers and closes the connection.
constexpr uint64_t kGoDrainBytes = 256 * 1024;
constexpr const char* kText = "text/plain; charset=utf-8";
constexpr const char* kPrometheusText = "text/plain; version=0.0.4; charset=utf-8";

grpc::ByteBuffer to_buffer(const std::string& bytes) {
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

bool parse(const grpc::ByteBuffer& buffer, google::protobuf::Message& message) {
  std::vector<grpc::Slice> slices;
  if (!buffer.Dump(&slices).ok()) return false;
  std::string bytes;
  for (const auto& s : slices)
    bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  return message.ParseFromString(bytes);
}

// etcd's gateway answers under /v3/ and, as etcd 3.4 does, /v3beta/.
std::optional<std::string_view> api_path(std::string_view target) {
  for (std::string_view prefix : {"/v3/", "/v3beta/"})
    if (target.substr(0, prefix.size()) == prefix) return target.substr(prefix.size() - 1);
  return std::nullopt;
}

// A streamed message as grpc-gateway writes it: one object and a newline.
std::string result_line(const std::string& json) {
  return "{\"result\":" + json + "}\n";
}

// A request's JSON decoded as the route's message (`prototype`) and encoded for gRPC into
// `out`; or why it does not decode.
grpc::Status encode_request(const google::protobuf::Message& prototype, std::string_view json,
                            grpc::ByteBuffer& out) {
  std::unique_ptr<google::protobuf::Message> message(prototype.New());
  if (auto status = from_json(json, *message); !status.ok()) return status;
  out = to_buffer(message->SerializeAsString());
  return grpc::Status::OK;
}

// The most requests a /v3/lease/keepalive body sends; the rest of it is dropped, as after a
// request that does not decode.
constexpr size_t kMaxBodyRequests = 1024;

// The Date header Go's net/http puts on every answer (http.TimeFormat, in GMT).
std::string http_date() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char out[40];
  const auto n = std::strftime(out, sizeof out, "%a, %d %b %Y %H:%M:%S GMT", &utc);
  return std::string(out, n);
}

// The token a request carries, as grpc-gateway passes headers on as gRPC metadata and etcd
// reads it: `Grpc-Metadata-Token` (metadata `token`, which etcd reads first), else
// `Authorization`, else `Grpc-Metadata-Authorization` (both metadata `authorization`).
template <class Fields>
std::string token_of(const Fields& request) {
  for (const char* name : {"Grpc-Metadata-Token", "Authorization", "Grpc-Metadata-Authorization"}) {
    auto it = request.find(name);
    if (it != request.end()) return std::string(it->value());
  }
  return {};
}

// The Access-Control-Allow-* headers etcd's CORS wrapper puts on every answer, streamed
// ones included.
template <class Body>
void set_cors(http::response<Body>& response) {
  response.set(http::field::access_control_allow_origin, "*");
  response.set(http::field::access_control_allow_methods, "POST, GET, OPTIONS, PUT, DELETE");
  response.set(http::field::access_control_allow_headers, "accept, content-type, authorization");
}

}  // namespace

Session::Session(asio::ip::tcp::socket socket, Gateway& gateway)
    : gateway_(gateway), fd_(socket.native_handle()), stream_(std::move(socket)) {}

Session::~Session() {
  gateway_.forget(this);
}

void Session::start() {
  asio::post(stream_.get_executor(), [self = shared_from_this()] { self->read_request(); });
}

void Session::close() {
  asio::post(stream_.get_executor(), [self = shared_from_this()] { self->shut(); });
}

void Session::shut() {
  if (closed_) return;
  closed_ = true;
  if (held_) {
    auto resume = std::move(held_->second);
    held_.reset();
    resume(false);
  }
  beast::error_code ignored;
  stream_.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  stream_.close();
  if (stream_call_) stream_call_->cancel();
}

void Session::read_request() {
  if (closed_) return;
  parser_.emplace();
  parser_->header_limit(static_cast<uint32_t>(gateway_.limits().max_header_bytes));
  parser_->body_limit(gateway_.limits().max_body_bytes);
  stream_.expires_after(gateway_.limits().idle);
  http::async_read_header(
      stream_, buffer_, *parser_,
      [self = shared_from_this()](beast::error_code ec, size_t) { self->on_header(ec); });
}

namespace {

// POST /v3/watch: its body is read as it arrives.
bool is_watch(const http::request_parser<http::string_body>::value_type& request) {
  std::string_view target(request.target().data(), request.target().size());
  const auto path = api_path(target.substr(0, target.find('?')));
  return request.method() == http::verb::post && path && *path == "/watch";
}

}  // namespace

void Session::on_header(beast::error_code ec) {
  if (closed_) return;
  if (ec) return on_request(ec);
  // A watch refused for its certificate is read whole and answered as any request.
  const bool watch = is_watch(parser_->get()) && !gateway_.refuses_certificate(fd_);
  auto read_body = [self = shared_from_this(), watch] {
    if (watch) {
      const auto& request = self->parser_->get();
      self->version_ = request.version();
      self->keep_alive_ = request.keep_alive();
      self->head_only_ = false;
      // Each WatchRequest is bounded instead of the whole body (take_watch_requests).
      self->parser_->body_limit(boost::none);
      self->stream_route_ = find_route("/watch");
      self->stream_authorization_ = token_of(request);
      self->watch_opened_ = false;
      self->watch_body_done_ = false;
      self->watch_decoding_ = true;
      self->watch_error_.reset();
      self->watch_pending_ = 0;
      self->watch_body_after_first_ = 0;
      // A watch's body may stay open as long as its answer: no read deadline.
      self->stream_.expires_never();
      return self->read_watch_body();
    }
    http::async_read(self->stream_, self->buffer_, *self->parser_,
                     [self](beast::error_code ec, size_t) { self->on_request(ec); });
  };
  // curl asks before sending a body over 1 KiB, and waits a second for this (Go's server
  // sends it when the handler reads the body).
  if (beast::iequals(parser_->get()[http::field::expect], "100-continue") && !parser_->is_done()) {
    static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    return asio::async_write(stream_, asio::buffer(kContinue.data(), kContinue.size()),
                             [self = shared_from_this(), read_body](beast::error_code ec, size_t) {
                               if (ec || self->closed_) return self->shut();
                               read_body();
                             });
  }
  read_body();
}

void Session::on_request(beast::error_code ec) {
  if (closed_) return;
  if (ec == http::error::body_limit) {
    // The rest of the body is never read: answer as the gRPC door answers a request over
    // --max-request-bytes, then close.
    const grpc::Status too_large(grpc::StatusCode::INVALID_ARGUMENT,
                                 "etcdserver: request is too large");
    return answer(static_cast<unsigned>(http_status(too_large.error_code())), kJson,
                  error_body(too_large), false);
  }
  if (ec == http::error::header_limit)
    return answer(431, kText, "431 Request Header Fields Too Large", false);
  if (ec == http::error::end_of_stream || ec == beast::error::timeout || ec == asio::error::eof ||
      ec == asio::error::connection_reset || ec == asio::error::operation_aborted)
    return shut();
  if (ec) return answer(400, kText, "400 Bad Request", false);
  const auto& request = parser_->get();
  version_ = request.version();
  keep_alive_ = request.keep_alive();
  head_only_ = request.method() == http::verb::head;
  serve(request);
}

void Session::serve(const Request& request) {
  std::string_view target(request.target().data(), request.target().size());
  target = target.substr(0, target.find('?'));
  if (refuse_certificate_name(target)) return;
  // etcd's CORS wrapper answers every OPTIONS itself (a preflight), whatever the path.
  if (request.method() == http::verb::options) return answer(200, nullptr, "", keep_alive_);
  if (target == "/version" || target == "/health") {
    if (request.method() != http::verb::get)
      return answer(405, kText, "Method Not Allowed\n", keep_alive_, "GET");
    if (target == "/version") return answer(200, kJson, std::string(kVersionBody), keep_alive_);
    return gateway_.probes().healthy()
               ? answer(200, kText, std::string(kHealthBody), keep_alive_)
               : answer(503, kText, std::string(kUnhealthyBody), keep_alive_);
  }
  // etcd's client URL serves Prometheus's handler here, for any method.
  if (target == "/metrics" && gateway_.probes().metrics)
    return answer(200, kPrometheusText, gateway_.probes().metrics(), keep_alive_);
  const auto path = api_path(target);
  if (!path) return answer(404, kText, "404 page not found\n", keep_alive_);
  const Route* route = find_route(*path);
  if (!route) return answer(404, kText, "Not Found\n", keep_alive_);
  if (request.method() != http::verb::post)
    return answer(405, kText, "Method Not Allowed\n", keep_alive_);
  call(*route, request);
}

bool Session::refuse_certificate_name(std::string_view target) {
  // etcd's access controller checks this first, before CORS and OPTIONS, on its API paths.
  if (!api_path(target) || !gateway_.refuses_certificate(fd_)) return false;
  answer(400, kText,
         "CommonName of client sending a request against gateway will be ignored and not used "
         "as expected\n",
         keep_alive_, {}, /*cors=*/false);
  return true;
}

void Session::call(const Route& route, const Request& request) {
  std::vector<grpc::ByteBuffer> requests;
  if (route.kind == CallKind::requests) {
    std::string_view body = request.body();
    // Decoded here, whole, not as the call takes them (Go's gateway decodes lazily): a
    // body of tiny requests would otherwise hold millions at once.
    while (body.find_first_not_of(" \t\r\n") != std::string_view::npos &&
           requests.size() < kMaxBodyRequests) {
      const auto length = util::json::first_value_length(body);
      grpc::ByteBuffer encoded;
      if (auto status =
              encode_request(*route.request, body.substr(0, length.value_or(body.size())), encoded);
          !status.ok()) {
        // Go's gateway fails the call only when the first request does not decode (a
        // plain error, not a status: Unknown, 500); after a later one it sends no more.
        if (requests.empty())
          return answer(500, kJson,
                        error_body(grpc::Status(grpc::StatusCode::UNKNOWN, status.error_message())),
                        keep_alive_);
        break;
      }
      requests.push_back(std::move(encoded));
      if (!length) break;
      body.remove_prefix(*length);
    }
    stream_authorization_ = token_of(request);
    return open_stream(route, std::move(requests));
  }
  requests.emplace_back(to_buffer(std::string()));
  if (route.request) {
    if (auto status = encode_request(*route.request, request.body(), requests.back()); !status.ok())
      return answer(400, kJson, error_body(status), keep_alive_);
    const size_t size = requests.back().Length();
    if (const size_t max = gateway_.limits().max_message_bytes; max > 0 && size > max) {
      const grpc::Status too_large(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                   "grpc: received message larger than max (" +
                                       std::to_string(size) + " vs. " + std::to_string(max) + ")");
      return answer(static_cast<unsigned>(http_status(too_large.error_code())), kJson,
                    error_body(too_large), keep_alive_);
    }
  }
  if (route.kind == CallKind::stream) {
    stream_authorization_ = token_of(request);
    return open_stream(route, std::move(requests));
  }
  call_unary(gateway_.stub(), route.method, std::move(requests.front()), gateway_.call_token(),
             token_of(request),
             [self = shared_from_this(), &route](grpc::Status status, grpc::ByteBuffer answer) {
               asio::post(self->stream_.get_executor(), [self, &route, status = std::move(status),
                                                         answer = std::move(answer)]() mutable {
                 self->on_unary_answer(route, status, std::move(answer));
               });
             });
}

void Session::on_unary_answer(const Route& route, const grpc::Status& status,
                              grpc::ByteBuffer answer) {
  if (closed_) return;
  if (!status.ok())
    return this->answer(static_cast<unsigned>(http_status(status.error_code())), kJson,
                        error_body(status), keep_alive_);
  std::unique_ptr<google::protobuf::Message> message(route.response->New());
  if (!parse(answer, *message)) {
    const grpc::Status bad(grpc::StatusCode::INTERNAL, "gateway: cannot parse the gRPC answer");
    return this->answer(500, kJson, error_body(bad), keep_alive_);
  }
  this->answer(200, kJson, to_json(*message), keep_alive_);
}

void Session::answer(unsigned status, const char* content_type, std::string body, bool keep_alive,
                     std::string_view allow, bool cors) {
  response_.emplace(static_cast<http::status>(status), version_);
  response_->set(http::field::date, http_date());
  if (content_type) response_->set(http::field::content_type, content_type);
  // Go's http.Error, which writes etcd's plain-text errors, adds this header.
  if (content_type == kText && status >= 400) response_->set("X-Content-Type-Options", "nosniff");
  if (!allow.empty())
    response_->set(http::field::allow, beast::string_view(allow.data(), allow.size()));
  if (cors) set_cors(*response_);
  response_->body() = std::move(body);
  response_->keep_alive(keep_alive);
  response_->prepare_payload();
  // Go answers a HEAD with the header it would send, Content-Length included, and no body.
  if (head_only_) response_->body().clear();
  stream_.expires_after(gateway_.limits().write);
  http::async_write(stream_, *response_,
                    [self = shared_from_this(), keep_alive](beast::error_code ec, size_t) {
                      if (ec || !keep_alive) return self->shut();
                      self->read_request();
                    });
}

// ---- streaming answers

void Session::open_stream(const Route& route, std::vector<grpc::ByteBuffer> requests) {
  stream_route_ = &route;
  stream_started_ = false;
  stream_head_status_ = 200;
  const bool watch = route.kind == CallKind::watch;
  StreamCall::Receiver receiver;
  receiver.message = [self = shared_from_this()](grpc::ByteBuffer message,
                                                 std::function<void(bool)> resume) {
    asio::post(self->stream_.get_executor(),
               [self, message = std::move(message), resume = std::move(resume)]() mutable {
                 self->on_stream_message(std::move(message), std::move(resume));
               });
  };
  receiver.done = [self = shared_from_this()](const grpc::Status& status) {
    asio::post(self->stream_.get_executor(), [self, status] { self->on_stream_done(status); });
  };
  stream_call_ = StreamCall::start(gateway_.stub(), route.method, std::move(requests),
                                   /*close_send=*/!watch, std::move(receiver),
                                   gateway_.call_token(), stream_authorization_);
}

// ---- a watch's body, as it arrives

void Session::read_watch_body() {
  if (closed_) return;
  if (parser_->is_done()) return end_watch_body();
  http::async_read_some(
      stream_, buffer_, *parser_,
      [self = shared_from_this()](beast::error_code ec, size_t) { self->on_watch_body(ec); });
}

void Session::on_watch_body(beast::error_code ec) {
  if (closed_) return;
  // The client went away (or sent a broken chunk) before its body ended.
  if (ec) return shut();
  if (take_watch_requests()) read_watch_body();
}

bool Session::take_watch_requests() {
  auto& body = parser_->get().body();
  if (watch_opened_ && !watch_body_done_) {
    watch_body_after_first_ += body.size() - watch_pending_;
    // Go stops draining and answers (and then closes) after 256 KiB.
    if (watch_body_after_first_ > kGoDrainBytes) keep_alive_ = false;
  }
  while (watch_decoding_) {
    const auto length = util::json::first_value_length(body);
    if (!length) break;
    decode_watch_request(std::string_view(body).substr(0, *length));
    body.erase(0, *length);
  }
  // After a request that did not decode, the rest of the body is read and dropped; blanks
  // between requests are not kept either.
  if (!watch_decoding_) body.clear();
  body.erase(0, std::min(body.size(), body.find_first_not_of(" \t\r\n")));
  watch_pending_ = body.size();
  if (watch_pending_ > gateway_.limits().max_body_bytes) {
    // The rest of the body is never read.
    if (watch_opened_) {
      shut();
      return false;
    }
    const grpc::Status too_large(grpc::StatusCode::INVALID_ARGUMENT,
                                 "etcdserver: request is too large");
    answer(static_cast<unsigned>(http_status(too_large.error_code())), kJson, error_body(too_large),
           false);
    return false;
  }
  release_held_answer();
  return true;
}

void Session::decode_watch_request(std::string_view json) {
  grpc::ByteBuffer request;
  if (auto status = encode_request(*stream_route_->request, json, request); !status.ok()) {
    watch_decoding_ = false;
    // etcd's gateway fails the call (Unknown) only when the first request does not decode.
    if (!watch_opened_)
      watch_error_ = grpc::Status(grpc::StatusCode::UNKNOWN, status.error_message());
    return;
  }
  if (!watch_opened_) {
    watch_opened_ = true;
    std::vector<grpc::ByteBuffer> first;
    first.push_back(std::move(request));
    return open_stream(*stream_route_, std::move(first));
  }
  if (stream_call_) stream_call_->send(std::move(request));
}

void Session::end_watch_body() {
  watch_body_done_ = true;
  auto& body = parser_->get().body();
  // An object the body ended inside of: decoding it names the error.
  if (watch_decoding_ && !util::json::first_value_length(body) &&
      body.find_first_not_of(" \t\r\n") != std::string::npos)
    decode_watch_request(body);
  body.clear();
  if (!watch_opened_) {
    if (watch_error_) return answer(500, kJson, error_body(*watch_error_), keep_alive_);
    // No request at all: a stream that answers nothing, as etcd's.
    watch_opened_ = true;
    open_stream(*stream_route_, {});
  }
  release_held_answer();
  watch_for_hangup();
}

bool Session::answers_released() const {
  return stream_route_ == nullptr || stream_route_->kind != CallKind::watch || watch_body_done_ ||
         watch_body_after_first_ > kGoDrainBytes;
}

void Session::release_held_answer() {
  if (!held_ || !answers_released()) return;
  auto held = std::move(*held_);
  held_.reset();
  on_stream_message(std::move(held.first), std::move(held.second));
}

void Session::watch_for_hangup() {
  // The answer streams for as long as the client keeps the connection: no read deadline.
  stream_.expires_never();
  stream_.async_read_some(asio::buffer(hangup_probe_),
                          [self = shared_from_this()](beast::error_code ec, size_t) {
                            // Bytes after the request's body are ignored.
                            if (ec) return self->shut();
                            self->watch_for_hangup();
                          });
}

void Session::on_stream_message(grpc::ByteBuffer message, std::function<void(bool)> resume) {
  if (closed_) return resume(false);
  if (!answers_released()) {
    held_.emplace(std::move(message), std::move(resume));
    return;
  }
  std::unique_ptr<google::protobuf::Message> decoded(stream_route_->response->New());
  if (!parse(message, *decoded)) {
    shut();
    return resume(false);
  }
  write_chunk(result_line(to_json(*decoded)), std::move(resume));
}

void Session::write_chunk(std::string chunk, std::function<void(bool)> then) {
  auto write_body = [this, then = std::move(then)](beast::error_code ec) mutable {
    if (ec || closed_) {
      shut();
      return then(false);
    }
    stream_.expires_after(gateway_.limits().write);
    asio::async_write(
        stream_, http::make_chunk(asio::buffer(chunk_)),
        [self = shared_from_this(), then = std::move(then)](beast::error_code ec, size_t) mutable {
          if (ec || self->closed_) {
            self->shut();
            return then(false);
          }
          then(true);
        });
  };
  chunk_ = std::move(chunk);
  if (stream_started_) return write_body({});
  stream_started_ = true;
  stream_head_.emplace(static_cast<http::status>(stream_head_status_), version_);
  stream_head_->set(http::field::date, http_date());
  stream_head_->set(http::field::content_type, kJson);
  set_cors(*stream_head_);
  stream_head_->chunked(true);
  stream_head_->keep_alive(keep_alive_);
  stream_head_writer_.emplace(*stream_head_);
  stream_.expires_after(gateway_.limits().write);
  http::async_write_header(stream_, *stream_head_writer_,
                           [self = shared_from_this(), write_body = std::move(write_body)](
                               beast::error_code ec, size_t) mutable { write_body(ec); });
}

void Session::on_stream_done(const grpc::Status& status) {
  stream_call_.reset();
  if (closed_) return;
  if (!stream_started_ && status.ok())
    return answer(200, kJson, "", keep_alive_ && stream_route_->kind != CallKind::watch);
  // grpc-gateway's ForwardResponseStream: an error before the first message sets the
  // answer's status from its code, and is written chunked as the stream's error object,
  // as one after messages is.
  if (!stream_started_) stream_head_status_ = http_status(status.error_code());
  if (status.ok()) return end_stream();
  write_chunk(stream_error_body(status) + "\n", [self = shared_from_this()](bool ok) {
    if (ok) self->end_stream();
  });
}

void Session::end_stream() {
  chunk_.clear();
  stream_.expires_after(gateway_.limits().write);
  asio::async_write(stream_, http::make_chunk_last(),
                    [self = shared_from_this()](beast::error_code ec, size_t) {
                      // A watch's connection had a read of its own pending: not reusable.
                      if (ec || !self->keep_alive_ || self->stream_route_->kind == CallKind::watch)
                        return self->shut();
                      self->read_request();
                    });
}

}  // namespace revkv::etcdapi::gateway
