#pragma once

// The TLS end of a client door. gRPC has no public way to serve TLS on a connection it did
// not accept, and CAF 0.17's brokers speak only plain sockets, so TLS ends here: for each
// accepted TCP connection the terminator waits for the ClientHello, does the handshake with
// OpenSSL (verifying a client certificate when asked), then hands the door the plaintext
// end of a socketpair and relays bytes between the two on the connection's strand. The
// door sees a connected stream socket, as without TLS (docs/SECURITY.md "Design").
//
// Refusals (not TLS, a failed or truncated handshake, an untrusted or expired client
// certificate, the deadline) close the connection with one log line naming the peer and
// the reason. At most `max_handshaking` connections may be between accept and handoff; one
// more closes the oldest of them (util/oldest_first.hpp; a log line at most once a second).

#include "tls/server_credentials.hpp"
#include "util/oldest_first.hpp"

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <openssl/x509.h>
#include <optional>
#include <string>
#include <unordered_map>

namespace revkv::tls {

class Terminator {
 public:
  struct Limits {
    // From accept to the handshake's end (etcd's Go server has none; 10 s is generous).
    std::chrono::milliseconds handshake_deadline{10'000};
    size_t max_handshaking = 1024;
  };
  // Gets the plaintext end (a connected AF_UNIX stream socket, blocking, close-on-exec) to
  // own, and the ALPN protocol agreed ("h2", "http/1.1" or ""). Called on an I/O thread.
  using Handoff = std::function<void(int fd, const std::string& alpn)>;
  // What the handshake established about the client, for a door that acts on who it is.
  struct Peer {
    std::string alpn;
    // The common name of the client's certificate, when it presented one and it was
    // verified (--client-cert-auth): etcd takes it as the user when a call has no token.
    // "" for a verified certificate without a CN.
    std::optional<std::string> verified_cn;
    // That verified certificate itself (null when none): the peer port ties it to the member
    // the connection then claims to be (docs/SECURITY.md "Peer TLS").
    std::shared_ptr<X509> certificate;
  };
  using PeerHandoff = std::function<void(int fd, const Peer& peer)>;

  // `door`: named in log lines ("client port", "MessagePack port").
  Terminator(std::shared_ptr<ServerCredentials> credentials, std::string door, Limits limits,
             Handoff handoff);
  Terminator(std::shared_ptr<ServerCredentials> credentials, std::string door, Limits limits,
             PeerHandoff handoff);
  ~Terminator();
  Terminator(const Terminator&) = delete;
  Terminator& operator=(const Terminator&) = delete;

  // Takes an accepted connection; its executor must be a strand (or a one-thread context).
  void adopt(boost::asio::ip::tcp::socket socket);
  // Closes the handshakes in progress; no handoff starts after it returns. Relays already
  // handed off go on: they end with either end of their connection. Idempotent.
  void stop();
  size_t handshaking() const;

 private:
  class Connection;
  friend class Connection;

  // From a Connection at the handshake's end; false when stopped.
  bool finish_handshake(Connection* connection, int fd, const Peer& peer);
  void forget(Connection* connection);
  void refuse_over_limit(const std::string& peer);

  std::shared_ptr<ServerCredentials> credentials_;
  std::string door_;
  Limits limits_;
  PeerHandoff handoff_;
  mutable std::mutex mutex_;
  bool stopped_ = false;
  util::OldestFirst<Connection> handshaking_;
  std::chrono::steady_clock::time_point last_over_limit_log_{};
  uint64_t over_limit_unlogged_ = 0;
};

}  // namespace revkv::tls
