#pragma once

// An in-process stand-in for revkvd: a loopback listener on port 0 and a thread that
// accepts one connection and runs a test's script on it. The script reads the client's
// requests with protocol::FrameDecoder and answers with canned frames.

#include "client/socket.hpp"
#include "protocol/frame.hpp"

#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <thread>

namespace revkv::test {

class FakeConnection {
 public:
  explicit FakeConnection(client::UniqueFd fd) : fd_(std::move(fd)) {}
  // The next request; throws std::runtime_error when the client closed the connection.
  protocol::RequestFrame read_request();
  void send(std::string_view bytes);
  void send(const msgpack::sbuffer& frame) { send(std::string_view(frame.data(), frame.size())); }
  // As send(), but gives up (throws std::runtime_error, which closes the connection) when
  // the client has taken nothing for `patience`: a test of a client that must read while it
  // writes fails instead of hanging.
  void send_within(const msgpack::sbuffer& frame, std::chrono::milliseconds patience);
  // Sends one byte per write: the client must reassemble frames from any split.
  void send_bytewise(const msgpack::sbuffer& frame);
  void close() { fd_.reset(); }

 private:
  client::UniqueFd fd_;
  protocol::FrameDecoder decoder_;
};

class FakeServer {
 public:
  using Script = std::function<void(FakeConnection&)>;
  explicit FakeServer(Script script);
  ~FakeServer();
  FakeServer(const FakeServer&) = delete;
  FakeServer& operator=(const FakeServer&) = delete;

  uint16_t port() const { return port_; }
  std::string endpoint() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  client::UniqueFd listener_;
  uint16_t port_ = 0;
  std::thread thread_;
};

// Encoded frames for the scripts.
msgpack::sbuffer result_frame(uint32_t msgid, std::string_view result);
msgpack::sbuffer error_frame(uint32_t msgid, int64_t code, const std::string& message);
msgpack::sbuffer notification_frame(std::string_view method, std::string_view body);

}  // namespace revkv::test
