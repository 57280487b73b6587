#pragma once

// One HTTP/1.1 connection of the JSON gateway: reads a request (bounded header and body,
// idle deadline), answers it (keep-alive as the client asks), and reads the next. All of
// its steps run on the connection's strand; the gRPC calls' callbacks are posted onto it.
//
// Streaming routes (etcd's /v3/watch, /v3/lease/keepalive, /v3/maintenance/snapshot)
// answer with a chunked body, one {"result":…} object per gRPC message, written before
// the next message is read. A watch's answer lasts until the node ends it or the client
// closes its connection, which a read kept pending notices.
//
// A watch's request body is read as it arrives, as etcd's gateway reads it: each JSON
// object is one WatchRequest, sent on the stream as soon as it is complete (a client may
// create, later cancel or create again, on one chunked body). What etcd 3.4 answers
// meanwhile is Go's net/http's doing, and is matched: nothing is written until the body
// ends — Go drains an unread body before it writes an answer's header — or until 256 KiB
// more of it were read, after which Go gives up draining and answers with
// "Connection: close". A request that does not decode stops the sending (the rest of the
// body is read and dropped); when it is the first, the answer is a 500 (Unknown).

#include "etcdapi/gateway.hpp"
#include "etcdapi/gateway_routes.hpp"

#include <array>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/string_body.hpp>
#include <functional>
#include <grpcpp/support/byte_buffer.h>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace revkv::etcdapi::gateway {

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(boost::asio::ip::tcp::socket socket, Gateway& gateway);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  void start();
  // From any thread: closes the connection and cancels its call.
  void close();

 private:
  using Request = boost::beast::http::request<boost::beast::http::string_body>;

  void read_request();
  void on_header(boost::beast::error_code ec);
  void on_request(boost::beast::error_code ec);
  void serve(const Request& request);
  void call(const Route& route, const Request& request);
  void on_unary_answer(const Route& route, const grpc::Status& status, grpc::ByteBuffer answer);
  // `allow`: the Allow header of a 405 from a route that names its methods.
  // `cors`: with etcd's CORS headers (all but the answers etcd gives before its CORS wrapper).
  void answer(unsigned status, const char* content_type, std::string body, bool keep_alive,
              std::string_view allow = {}, bool cors = true);
  void shut();

  void open_stream(const Route& route, std::vector<grpc::ByteBuffer> requests);
  void read_watch_body();
  void on_watch_body(boost::beast::error_code ec);
  // False when the body is not to be read further.
  bool take_watch_requests();
  void end_watch_body();
  void decode_watch_request(std::string_view json);
  bool answers_released() const;
  void release_held_answer();
  void on_stream_message(grpc::ByteBuffer message, std::function<void(bool)> resume);
  void on_stream_done(const grpc::Status& status);
  void write_chunk(std::string chunk, std::function<void(bool)> then);
  void end_stream();
  void watch_for_hangup();

  // Whether etcd's gateway would refuse this /v3/ request for its certificate's CN; if so
  // answers it (400) and returns true.
  bool refuse_certificate_name(std::string_view target);

  Gateway& gateway_;
  int fd_;  // the connection's descriptor, as the client port recorded its certificate
  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;
  std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser_;
  unsigned version_ = 11;
  bool keep_alive_ = true;
  bool closed_ = false;

  // The answer being written.
  std::optional<boost::beast::http::response<boost::beast::http::string_body>> response_;

  // The streaming call, while one is open.
  std::shared_ptr<StreamCall> stream_call_;
  const Route* stream_route_ = nullptr;
  // The Authorization header of the request that opens the streaming call.
  std::string stream_authorization_;
  bool stream_started_ = false;
  std::optional<boost::beast::http::response<boost::beast::http::empty_body>> stream_head_;
  unsigned stream_head_status_ = 200;  // the streamed answer's status (an error's, first)
  std::optional<boost::beast::http::response_serializer<boost::beast::http::empty_body>>
      stream_head_writer_;
  std::string chunk_;
  std::array<char, 512> hangup_probe_{};
  bool head_only_ = false;  // a HEAD request: the answer's header without its body

  // A watch's body, while it is read (see above).
  bool watch_opened_ = false;
  bool watch_body_done_ = false;
  bool watch_decoding_ = true;
  std::optional<grpc::Status> watch_error_;
  size_t watch_pending_ = 0;
  uint64_t watch_body_after_first_ = 0;
  // The stream's answer waiting for the body's end, with its resume.
  std::optional<std::pair<grpc::ByteBuffer, std::function<void(bool)>>> held_;
};

}  // namespace revkv::etcdapi::gateway
