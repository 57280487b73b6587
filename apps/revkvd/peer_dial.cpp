#include "apps/revkvd/peer_dial.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

namespace revkv::apps {

util::UniqueFd dial_ipv4(const std::string& source, std::chrono::milliseconds timeout,
                         std::string& host, std::string& error) {
  auto colon = source.rfind(':');
  host = source.substr(0, colon);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  int port = 0;
  try {
    port = colon == std::string::npos ? 0 : std::stoi(source.substr(colon + 1));
  } catch (const std::exception&) {
  }
  if (port <= 0 || port > 65535 || ::inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) {
    error = "'" + source + "' is not an IPv4 HOST:PORT";
    return {};
  }
  addr.sin_port = htons(static_cast<uint16_t>(port));
  util::UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) {
    error = std::strerror(errno);
    return {};
  }
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 &&
      errno != EINPROGRESS) {
    error = std::strerror(errno);
    return {};
  }
  pollfd p{fd.get(), POLLOUT, 0};
  int rc = ::poll(&p, 1, static_cast<int>(timeout.count()));
  int so_error = 0;
  socklen_t len = sizeof so_error;
  ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &so_error, &len);
  if (rc <= 0 || so_error != 0) {
    error = rc <= 0 ? "connect timed out" : std::strerror(so_error);
    return {};
  }
  return fd;
}

PeerConnection dial_peer(const std::string& address, const tls::ClientConfig& tls,
                         std::chrono::milliseconds connect_timeout,
                         std::chrono::milliseconds handshake_timeout, std::string& error) {
  PeerConnection connection;
  std::string host;
  util::UniqueFd tcp = dial_ipv4(address, connect_timeout, host, error);
  if (!tcp.valid()) return connection;
  if (!tls.enabled) {
    connection.plain = std::move(tcp);
    return connection;
  }
  connection.tunnel = tls::ClientTunnel::open(std::move(tcp), host, tls, handshake_timeout,
                                              connection.plain, error);
  if (!connection.tunnel) {
    error = "TLS: " + error;
    connection.plain = {};
  }
  return connection;
}

}  // namespace revkv::apps
