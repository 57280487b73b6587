#pragma once

// Dialing a peer's catch-up port (docs/CLUSTER.md "Catch-up from a peer's checkpoint",
// "Publishing from followers"): what the checkpoint fetcher and the follower publisher both
// do before their own exchange. Peer and catch-up addresses are IPv4 literals; with peer TLS
// the connection is TLS with the peer client credentials and the server's certificate must
// carry the address's host.

#include "tls/client_tunnel.hpp"
#include "util/unique_fd.hpp"

#include <chrono>
#include <memory>
#include <string>

namespace revkv::apps {

// A TCP connection to an IPv4 HOST:PORT within `timeout`; `host` is set to HOST. Invalid
// with `error` when it cannot be made.
util::UniqueFd dial_ipv4(const std::string& address, std::chrono::milliseconds timeout,
                         std::string& host, std::string& error);

struct PeerConnection {
  // The blocking descriptor to exchange on: the TCP socket, or the tunnel's plaintext end.
  util::UniqueFd plain;
  // With peer TLS: relays between `plain` and the socket; destroyed first, it closes both.
  std::unique_ptr<tls::ClientTunnel> tunnel;
  bool valid() const { return plain.valid(); }
};

// Dials `address` and, when `tls.enabled`, handshakes within `handshake_timeout`. Invalid
// with `error` ("TLS: ..." for a failed handshake) when it cannot be made.
PeerConnection dial_peer(const std::string& address, const tls::ClientConfig& tls,
                         std::chrono::milliseconds connect_timeout,
                         std::chrono::milliseconds handshake_timeout, std::string& error);

}  // namespace revkv::apps
