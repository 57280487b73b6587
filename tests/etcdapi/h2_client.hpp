#pragma once

// A raw HTTP/2 client for the tests of revkv's HTTP/2 door (etcdapi/h2_door.hpp), on
// libnghttp2's client session: a test sets any headers and sends any bytes as DATA, which no
// gRPC library would, and sees the answer as it came (the HTTP status, the headers, the
// DATA, the trailers, a reset, a GOAWAY). One blocking call at a time, each with a
// deadline.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace revkv::testing {

struct H2Answer {
  bool complete = false;  // the stream ended (END_STREAM or a reset) before the deadline
  int http_status = 0;
  std::map<std::string, std::string> headers;
  std::map<std::string, std::string> trailers;
  std::string data;               // the DATA as sent, gRPC's prefixes included
  std::optional<uint32_t> reset;  // RST_STREAM's error code

  // grpc-status from the trailers, or from the headers of a trailers-only answer.
  std::optional<int> grpc_status() const;
  std::string grpc_message() const;
  // The gRPC messages in `data`.
  std::vector<std::string> messages() const;
};

class H2Client {
 public:
  // Connects to 127.0.0.1:`port` and exchanges the prefaces. Throws on failure.
  explicit H2Client(uint16_t port);
  ~H2Client();
  H2Client(const H2Client&) = delete;
  H2Client& operator=(const H2Client&) = delete;

  using Headers = std::vector<std::pair<std::string, std::string>>;
  // gRPC's request headers for `path` (POST, http, content-type application/grpc, te).
  static Headers grpc_headers(const std::string& path);

  // Opens a stream with `headers` and `data` as its DATA (ending the stream when
  // `end_stream`), and waits up to `wait` for the stream to end.
  H2Answer call(const Headers& headers, const std::string& data, bool end_stream = true,
                std::chrono::milliseconds wait = std::chrono::seconds(20));
  // Keeps waiting up to `wait` for the last call's stream to end.
  H2Answer wait_end(std::chrono::milliseconds wait);
  // Keeps waiting up to `wait` for the last call's stream to hold `count` messages (or end).
  H2Answer wait_messages(size_t count, std::chrono::milliseconds wait);
  // Exchanges frames until `done()` holds or `wait` has passed; whether it holds.
  bool pump_until(const std::function<bool()>& done, std::chrono::milliseconds wait);
  // Opens a stream that sends `data` (and ends, when `end_stream`): what the server's
  // flow-control windows let through goes out as the client waits (pump_until, call). Returns the
  // stream's id.
  int32_t open_stream(const Headers& headers, const std::string& data, bool end_stream = false);
  // More DATA on `stream`, opened with open_stream and not ended (ending it with `end_stream`).
  void send_data(int32_t stream, const std::string& data, bool end_stream = false);
  // Resets `stream` (RST_STREAM CANCEL, as a gRPC client cancels a call); sent with the next
  // exchange of frames.
  void reset(int32_t stream);
  // What came on `stream` so far.
  H2Answer answer(int32_t stream) const;
  // Whether `stream` has ended (without copying its answer).
  bool complete(int32_t stream) const;
  // The bytes of DATA that came on `stream` so far (without copying them).
  size_t data_size(int32_t stream) const;
  // What the server's windows still let this client send on the connection, and on a stream.
  int32_t connection_window() const;
  int32_t stream_window(int32_t stream) const;
  // Bytes of `stream`'s data not sent yet.
  size_t unsent(int32_t stream) const;
  // While held, the DATA received on `stream` is not given back to its flow-control window
  // (as a client that does not read that stream): once the window is spent the server can
  // send it no more. Letting go gives back what was held. The connection's window is always
  // given back.
  void hold_window(int32_t stream, bool hold);
  // Waits up to `wait` for a GOAWAY from the server; its last stream id.
  std::optional<int32_t> wait_goaway(std::chrono::milliseconds wait);
  // Whether the connection failed (closed by the server, or a frame that does not parse).
  bool broken() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace revkv::testing
