#pragma once

// A loopback TCP proxy in front of one cluster member's Raft listener, controlled by a test
// (docs/CLUSTER.md "Cut links"). The member binds --listen-peer on the proxy's target port
// and is advertised in --initial-cluster at the proxy's port, so every Raft connection *to*
// it passes through here.
//
// libraft sends on connections it dials and receives on those it accepts, and each dialled
// connection starts with a handshake naming the sender's id (8-byte protocol version, 8-byte
// id, both little-endian). The proxy reads those 16 bytes before it connects on, so one
// proxy per member can cut the directed link "sender -> this member" alone: cut(sender). A
// symmetric cut of A <-> B is cut(A) on B's proxy and cut(B) on A's; isolating A is cut_all()
// on A's proxy and cut(A) on every other. Plaintext Raft only (with peer TLS the handshake is
// encrypted).
//
// A cut link closes its open connections and refuses new ones (accepted, then closed: the
// sender sees its connection end and retries, as after a peer restart). heal() lets them
// through again.

#include <atomic>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

namespace revkv::testing {

class PeerProxy {
 public:
  // Listens on a free loopback port, forwards to 127.0.0.1:`target_port`. Throws
  // std::runtime_error when it cannot listen.
  explicit PeerProxy(uint16_t target_port);
  // Closes every connection and joins every thread.
  ~PeerProxy();
  PeerProxy(const PeerProxy&) = delete;
  PeerProxy& operator=(const PeerProxy&) = delete;

  uint16_t port() const { return port_; }
  uint16_t target_port() const { return target_; }

  // Cuts the link from the member whose Raft id is `sender`.
  void cut(uint64_t sender);
  // Cuts every link into the target.
  void cut_all();
  // Restores every link.
  void heal();
  // Connections relayed so far, and those refused because their link was cut.
  uint64_t relayed() const { return relayed_.load(); }
  uint64_t refused() const { return refused_.load(); }

 private:
  struct Connection;
  bool is_cut(uint64_t sender);
  void accept_loop();
  void serve(Connection& c);
  void close_matching(bool all, uint64_t sender);

  uint16_t target_;
  uint16_t port_ = 0;
  int listen_fd_ = -1;
  std::atomic<bool> stopping_{false};
  std::atomic<uint64_t> relayed_{0};
  std::atomic<uint64_t> refused_{0};
  std::mutex mu_;
  bool all_cut_ = false;
  std::set<uint64_t> cut_;
  std::list<std::unique_ptr<Connection>> connections_;
  std::thread acceptor_;
};

}  // namespace revkv::testing
