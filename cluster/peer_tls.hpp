#pragma once

// TLS between cluster members (docs/CLUSTER.md "Peer TLS"): a libraft transport
// (raft_uv_transport) that carries every Raft connection over TLS, verified both ways,
// in place of libraft's plain raft_uv_tcp.
//
// libraft reads and writes whatever uv_stream_t its transport hands it, so the transport
// hands it one end of a socketpair (a uv_pipe_t) and tls/ carries the other end to the
// peer: incoming connections are accepted and terminated by a tls::Listener on the
// member's peer address (the client doors' terminator), outgoing ones are opened by a
// tls::ClientTunnel (the MessagePack client's) on a short-lived dialing thread. Before
// libraft gets a connection, the dialing side sends a small preamble naming its Raft id
// and address (what raft_uv_tcp's own handshake carries), read here by the accepting side.
//
// Everything libraft calls runs on the RaftNode's loop thread; the listener's threads and
// the dialing threads reach it only through LoopThread::post.

#include "cluster/libraft.hpp"
#include "tls/client_tunnel.hpp"
#include "tls/server_credentials.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <openssl/x509.h>
#include <optional>
#include <string>

namespace revkv::cluster {

class LoopThread;

struct PeerTls {
  // The peer port's certificate, key and the CA a connecting member's certificate must
  // chain to (--peer-cert-file, --peer-key-file, --peer-trusted-ca-file); revkvd reloads
  // them on SIGHUP.
  std::shared_ptr<tls::ServerCredentials> server;
  // Outgoing connections: the same certificate as a client certificate, and the same CA
  // for the peer's. Read from the files at every connection, so a reload needs no signal.
  tls::ClientConfig client;
  // HOST:PORT the peer port listens on; empty: the member's own (advertised) address.
  // RaftNode sets it from RaftConfig::bind_address.
  std::string bind_address;
  // TCP connect, then TLS handshake, each bounded by this.
  std::chrono::milliseconds dial_timeout{2000};
};

// The transport's state, owned by the RaftNode. Construction fills in `transport` (its
// function pointers); libraft then calls them on the loop thread.
class PeerTlsTransport {
 public:
  // Throws std::runtime_error when it cannot be set up.
  PeerTlsTransport(raft_uv_transport* transport, LoopThread& loop, PeerTls config);
  // After the loop thread ended: joins the dialing and relay threads.
  ~PeerTlsTransport();
  PeerTlsTransport(const PeerTlsTransport&) = delete;
  PeerTlsTransport& operator=(const PeerTlsTransport&) = delete;

  // A member's configured peer address by its Raft id; nullopt for one not in the
  // configuration. Called on the loop thread for each incoming connection, whose
  // preamble's id and address must match it and whose certificate must name that address.
  using MemberLookup = std::function<std::optional<std::string>(uint64_t id)>;
  // Before libraft listens (until then, or unset, every incoming connection is refused).
  void set_members(MemberLookup lookup);

  // On the loop thread, for a transport libraft never closed (its setup failed part-way):
  // closes what is open. Idempotent; libraft's own close does the same.
  void shut();

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// Whether a verified peer certificate names `host` (an IP literal in its IP SANs, else a DNS
// name): what ties a certificate to one member's peer address, on the peer port and on the
// catch-up port alike.
bool certificate_names_host(X509* certificate, const std::string& host);

}  // namespace revkv::cluster
