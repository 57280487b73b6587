#include "tests/monitoring/http_client.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

namespace revkv::testing {
namespace {

sockaddr_in loopback(uint16_t port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return addr;
}

}  // namespace

HttpResponse http_request(uint16_t port, const std::string& method,
                          const std::string& path_and_query) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return {};
  timeval timeout{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  auto addr = loopback(port);
  HttpResponse out;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    std::string request =
        method + " " + path_and_query + " HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n";
    if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
        static_cast<ssize_t>(request.size())) {
      std::string response;
      char buf[16384];
      for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;)
        response.append(buf, static_cast<size_t>(n));
      auto head_end = response.find("\r\n\r\n");
      if (head_end != std::string::npos && response.rfind("HTTP/1.", 0) == 0) {
        out.status = std::atoi(response.c_str() + response.find(' ') + 1);
        out.body = response.substr(head_end + 4);
      }
    }
  }
  ::close(fd);
  return out;
}

HttpResponse http_get(uint16_t port, const std::string& path_and_query) {
  return http_request(port, "GET", path_and_query);
}

namespace {

// Claims `port` for this test process against the others running side by side (ctest -j),
// whoever runs them: a Unix socket bound to the abstract name "revkv-test-port-N", which
// only one socket at a time can hold and which the kernel releases when the process ends
// (no file is left anywhere). Two processes that picked the same free port before either
// bound it made a cluster member fail to start (its peer port taken: libraft's bare "I/O
// error"). A socket that cannot be made claims nothing and says yes.
bool claim_across_processes(uint16_t port) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return true;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const std::string name = "revkv-test-port-" + std::to_string(port);
  std::memcpy(addr.sun_path + 1, name.data(), name.size());  // sun_path[0] = 0: abstract
  const auto length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), length) != 0) {
    const int error = errno;
    ::close(fd);
    return error != EADDRINUSE;  // EADDRINUSE: another test process has it
  }
  return true;  // the socket stays open: the claim lasts as long as this process
}

}  // namespace

// A free loopback port, never one this process was given before (a
// cluster test asks for a dozen before anything binds them, and the kernel may hand out
// the same free port twice), nor one another test process claimed.
uint16_t free_loopback_port() {
  // Below the kernel's ephemeral range (32768-60999 by default): a port picked there can be
  // taken, before the process it is for binds it, as the local port of any outgoing
  // connection on the machine (other tests connect thousands of times), and a member then
  // fails to start. Random, so that test processes running side by side rarely pick alike.
  constexpr uint16_t kLowest = 15000, kHighest = 32767;
  static std::mutex mu;
  static std::set<uint16_t> given;
  static std::mt19937 random(std::random_device{}());
  std::lock_guard lock(mu);
  for (;;) {
    const auto port =
        static_cast<uint16_t>(std::uniform_int_distribution<int>(kLowest, kHighest)(random));
    if (given.count(port) != 0) continue;
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) throw std::runtime_error("socket failed");
    auto addr = loopback(port);
    const bool free = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    ::close(fd);
    if (free && claim_across_processes(port) && given.insert(port).second) return port;
  }
}

int connect_loopback(uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  auto addr = loopback(port);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

}  // namespace revkv::testing
