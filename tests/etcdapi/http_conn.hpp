#pragma once

// A raw HTTP/1.1 connection for the JSON gateway's tests, as curl or python-requests use
// one: requests on one kept-alive socket, answers read by Content-Length or chunk by chunk.
// Socket timeouts make a stuck server fail the test instead of hanging it.

#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace revkv::testing {

struct HttpAnswer {
  int status = 0;                              // 0: no answer (closed, timed out, garbled)
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;                            // chunked bodies joined
};

class HttpConn {
 public:
  // Connects to 127.0.0.1:port; connected() says whether it worked.
  explicit HttpConn(uint16_t port, int timeout_seconds = 15);
  ~HttpConn();
  HttpConn(const HttpConn&) = delete;
  HttpConn& operator=(const HttpConn&) = delete;

  bool connected() const { return fd_ >= 0; }
  bool send_raw(const std::string& bytes);
  // Sends one request (Content-Length set) and reads its whole answer.
  HttpAnswer request(const std::string& method, const std::string& path,
                     const std::string& body = "", const std::string& extra_headers = "");
  HttpAnswer post(const std::string& path, const std::string& body) {
    return request("POST", path, body);
  }

  // A streamed answer: the head, then one chunk at a time (nullopt at the last chunk or
  // when the connection ends).
  HttpAnswer read_head();
  std::optional<std::string> read_chunk();
  // The whole answer after its head (by Content-Length, chunks, or until close).
  std::string read_body(const HttpAnswer& head);

  // True when the server closed the connection (an end of stream or a reset) within the
  // timeout; what it sent before is skipped.
  bool closed_by_server();

 private:
  bool fill();  // reads more into buffer_; false on close, error or timeout
  std::optional<std::string> read_line();

  int fd_ = -1;
  std::string buffer_;
};

}  // namespace revkv::testing
