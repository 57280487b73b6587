#pragma once

// libraft's plain TCP transport (raft_uv_tcp) with Nagle's algorithm off on every peer
// connection (docs/CLUSTER.md "Peer connections").
//
// raft_uv_tcp never sets TCP_NODELAY. A leader writes several messages to a follower back
// to back (AppendEntries while the previous one is unanswered, heartbeats), and with Nagle
// on, a short write waits until the peer acknowledges the one before — which the peer's
// delayed-ACK timer may hold for 40 ms. Under a put load every in-flight write then waited
// ~40 ms a few times a second: the cluster's put p99 was ~46 ms against a p50 of ~6 ms
// (docs/BENCHMARKS.md). Peer TLS (cluster/peer_tls.hpp) sets TCP_NODELAY on its own sockets.
//
// The wrapper is the raft_uv_transport libraft is given; each call goes to an inner
// raft_uv_tcp transport, and each stream that transport hands over (accepted or connected)
// gets TCP_NODELAY before libraft sees it. Everything runs on the RaftNode's loop thread.

#include "cluster/libraft.hpp"

#include <string>

namespace revkv::cluster {

class NoDelayTcpTransport {
 public:
  // Fills `outer` (the transport handed to raft_uv_init) with functions that delegate to a
  // raft_uv_tcp transport on `loop`. Throws std::runtime_error when that cannot be set up.
  NoDelayTcpTransport(raft_uv_transport* outer, uv_loop_t* loop);
  // Frees raft_uv_tcp's state if release() did not.
  ~NoDelayTcpTransport();
  NoDelayTcpTransport(const NoDelayTcpTransport&) = delete;
  NoDelayTcpTransport& operator=(const NoDelayTcpTransport&) = delete;

  // raft_uv_tcp_set_bind_address; before libraft listens. 0 or a libraft error code.
  int set_bind_address(const std::string& address);
  // Frees raft_uv_tcp's state: after libraft closed the transport, or when libraft never
  // used it. Idempotent.
  void release();

  // Sets TCP_NODELAY on `stream` if it is a TCP handle; false when the kernel refused.
  static bool no_delay(uv_stream_t* stream);

 private:
  static NoDelayTcpTransport* of(raft_uv_transport* t);
  static int init(raft_uv_transport* t, raft_id id, const char* address);
  static int listen(raft_uv_transport* t, raft_uv_accept_cb cb);
  static int connect(raft_uv_transport* t, raft_uv_connect* req, raft_id id, const char* address,
                     raft_uv_connect_cb cb);
  static void close(raft_uv_transport* t, raft_uv_transport_close_cb cb);
  static void accepted(raft_uv_transport* inner, raft_id id, const char* address,
                       uv_stream_t* stream);
  static void connected(raft_uv_connect* req, uv_stream_t* stream, int status);
  // Copies the inner transport's last error message to the outer one after a failed call.
  int pass_error(int rv);

  raft_uv_transport* outer_;
  raft_uv_transport inner_{};
  bool inner_ready_ = false;
  raft_uv_accept_cb accept_cb_ = nullptr;
  raft_uv_transport_close_cb close_cb_ = nullptr;
};

}  // namespace revkv::cluster
