#include "tests/etcdapi/http_conn.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <utility>

namespace revkv::testing {

HttpConn::HttpConn(uint16_t port, int timeout_seconds) {
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd_ < 0) return;
  timeval timeout{timeout_seconds, 0};
  ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

HttpConn::~HttpConn() {
  if (fd_ >= 0) ::close(fd_);
}

bool HttpConn::send_raw(const std::string& bytes) {
  size_t sent = 0;
  while (sent < bytes.size()) {
    const ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return false;
    sent += static_cast<size_t>(n);
  }
  return true;
}

bool HttpConn::fill() {
  char buf[16384];
  const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
  if (n <= 0) return false;
  buffer_.append(buf, static_cast<size_t>(n));
  return true;
}

std::optional<std::string> HttpConn::read_line() {
  for (;;) {
    if (auto end = buffer_.find("\r\n"); end != std::string::npos) {
      auto line = buffer_.substr(0, end);
      buffer_.erase(0, end + 2);
      return line;
    }
    if (!fill()) return std::nullopt;
  }
}

HttpAnswer HttpConn::read_head() {
  HttpAnswer out;
  auto status_line = read_line();
  if (!status_line || status_line->rfind("HTTP/1.", 0) != 0) return out;
  for (;;) {
    auto line = read_line();
    if (!line) return out;
    if (line->empty()) break;
    auto colon = line->find(':');
    if (colon == std::string::npos) continue;
    auto name = line->substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    auto value = line->substr(colon + 1);
    value.erase(0, value.find_first_not_of(' '));
    out.headers[name] = value;
  }
  out.status = std::atoi(status_line->c_str() + status_line->find(' ') + 1);
  return out;
}

std::optional<std::string> HttpConn::read_chunk() {
  auto size_line = read_line();
  if (!size_line) return std::nullopt;
  const size_t size = std::strtoul(size_line->c_str(), nullptr, 16);
  if (size == 0) {
    // The last chunk: trailers (etcd's gateway sends some), then an empty line.
    while (auto trailer = read_line())
      if (trailer->empty()) break;
    return std::nullopt;
  }
  while (buffer_.size() < size + 2)
    if (!fill()) return std::nullopt;
  auto chunk = buffer_.substr(0, size);
  buffer_.erase(0, size + 2);
  return chunk;
}

std::string HttpConn::read_body(const HttpAnswer& head) {
  if (auto te = head.headers.find("transfer-encoding");
      te != head.headers.end() && te->second == "chunked") {
    std::string body;
    while (auto chunk = read_chunk())
      body += *chunk;
    return body;
  }
  if (auto cl = head.headers.find("content-length"); cl != head.headers.end()) {
    const size_t size = std::strtoul(cl->second.c_str(), nullptr, 10);
    while (buffer_.size() < size)
      if (!fill()) break;
    auto body = buffer_.substr(0, size);
    buffer_.erase(0, std::min(size, buffer_.size()));
    return body;
  }
  while (fill()) {
  }
  return std::exchange(buffer_, {});
}

HttpAnswer HttpConn::request(const std::string& method, const std::string& path,
                             const std::string& body, const std::string& extra_headers) {
  const std::string head = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
                           extra_headers + "Content-Length: " + std::to_string(body.size()) +
                           "\r\n\r\n";
  if (!send_raw(head + body)) return {};
  auto answer = read_head();
  if (answer.status == 0) return answer;
  answer.body = read_body(answer);
  return answer;
}

bool HttpConn::closed_by_server() {
  for (;;) {
    char buf[256];
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n == 0) return true;
    // Closed with bytes of ours unread: a reset.
    if (n < 0) return errno == ECONNRESET;
  }
}

}  // namespace revkv::testing
