#pragma once

// TLS for the blocking MessagePack client (client/client.hpp) without touching its I/O:
// the tunnel does the handshake on a connected TCP socket, then gives the client the
// plaintext end of a socketpair and relays between the two on a thread of its own, with
// non-blocking OpenSSL calls. The client's poll/send/recv stay as they are; the cost is a
// thread and two copies per connection (docs/SECURITY.md "Clients").

#include "util/unique_fd.hpp"

#include <chrono>
#include <memory>
#include <string>
#include <thread>

namespace revkv::tls {

// etcdctl's flags: --cacert, --cert, --key, --insecure-skip-tls-verify.
struct ClientConfig {
  bool enabled = false;
  std::string ca_file;    // "" : the system's trusted CAs
  std::string cert_file;  // a client certificate (with key_file), for --client-cert-auth
  std::string key_file;
  bool insecure_skip_verify = false;  // no check of the server's certificate (testing only)
};

class ClientTunnel {
 public:
  // Handshakes on `tcp` (connected; taken over) with `host` as the name the server's
  // certificate must carry (DNS name or IP address), within `timeout`. On success `plain`
  // is the client's end; on failure nullptr and `error` says why.
  static std::unique_ptr<ClientTunnel> open(util::UniqueFd tcp, const std::string& host,
                                            const ClientConfig& config,
                                            std::chrono::milliseconds timeout,
                                            util::UniqueFd& plain, std::string& error);
  // Stops the relay (the connection closes) and joins its thread.
  ~ClientTunnel();
  ClientTunnel(const ClientTunnel&) = delete;
  ClientTunnel& operator=(const ClientTunnel&) = delete;

  // Whether the relay ended (either side closed or failed). The plaintext end stays open
  // until the tunnel is destroyed: an owner that writes without reading (libraft's outbound
  // connections) learns of a lost peer only once it destroys a finished tunnel.
  bool finished() const;

  struct State;

 private:
  explicit ClientTunnel(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
  std::thread relay_;
};

}  // namespace revkv::tls
