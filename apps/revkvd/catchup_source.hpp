#pragma once

// The catch-up port of a cluster member (docs/CLUSTER.md "Catch-up from a peer's
// checkpoint"): hands a RocksDB checkpoint of this member's store to a member that is
// behind the leader's compacted log. Each request gets a fresh checkpoint (hard links, made
// when asked, so it is at least as new as any snapshot this member took), streamed with a
// SHA-256 per file (apps/revkvd/checkpoint_transfer.hpp) and removed when the transfer ends.
// One transfer at a time, on a thread of its own; a few more wait their turn.
//
// The port also takes publish requests (apps/revkvd/publish_request.hpp): a follower handing
// the leader its own client addresses. A thread of their own reads every connection's
// request head (within 5 s) and answers publishes itself, so a publish never waits behind a
// transfer, which may stream a large store for minutes.
//
// With peer TLS the port is TLS with the peer credentials and a verified peer certificate
// is required, like the Raft port: the store is only handed to members. Without it the
// cluster trusts its network, as it does for Raft's own traffic.

#include "apps/revkvd/checkpoint_transfer.hpp"
#include "storage/backend.hpp"
#include "tls/server_credentials.hpp"
#include "util/unique_fd.hpp"

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <openssl/x509.h>
#include <string>
#include <string_view>
#include <thread>

namespace revkv::tls {
class Listener;
}

namespace revkv::apps {

// Decides a publish request: `payload` as sent, `certificate` the peer certificate the TLS
// terminator verified (null on a plaintext port). Returns "" once the log holds the
// attributes, else the reason for the "X" answer. Called on the request thread; may block
// (bounded) for the proposal's commit.
using PublishHandler = std::function<std::string(std::string_view payload, X509* certificate)>;

// The source on `host`:`port`; with port 0, on the port the previous run picked if it is
// free (remembered in DATA_DIR/catchup-port), else a free one, remembered for the next run:
// the snapshots a member took name its catch-up port, and they outlive the process.
class CheckpointSource;
std::unique_ptr<CheckpointSource> open_checkpoint_source(
    const storage::Backend& backend, const std::filesystem::path& data_dir, const std::string& host,
    uint16_t port, std::shared_ptr<tls::ServerCredentials> peer_tls,
    PublishHandler on_publish = nullptr);

class CheckpointSource {
 public:
  // Listens on `host`:`port` (0: a free port). `work_dir` holds the checkpoint being sent
  // (same file system as the store, for hard links). `on_publish` decides publish requests
  // (null: each is refused). Throws std::runtime_error when it cannot listen.
  CheckpointSource(const storage::Backend& backend, std::filesystem::path work_dir,
                   const std::string& host, uint16_t port,
                   std::shared_ptr<tls::ServerCredentials> peer_tls,
                   PublishHandler on_publish = nullptr);
  // stop().
  ~CheckpointSource();
  CheckpointSource(const CheckpointSource&) = delete;
  CheckpointSource& operator=(const CheckpointSource&) = delete;

  // HOST:PORT, as a fetcher dials it.
  const std::string& address() const { return address_; }
  uint16_t port() const { return port_; }
  // Stops listening, cuts a transfer short, joins the threads. Before the store closes.
  // Idempotent.
  void stop();

 private:
  struct Connection {
    util::UniqueFd fd;
    std::shared_ptr<X509> certificate;  // verified by the TLS terminator; null: plaintext
  };
  void accept_loop();
  void enqueue(Connection connection);
  // The request thread: reads each connection's request head, answers publishes, queues
  // checkpoint requests for the transfer thread.
  void request_loop();
  void take_request(Connection connection);
  void serve_loop();
  void serve(int fd);

  const storage::Backend& backend_;
  std::filesystem::path work_dir_;
  std::string address_;
  uint16_t port_ = 0;
  TransferLimits limits_;
  int damage_left_ = 0;  // REVKV_TEST_DAMAGE_CATCHUP
  PublishHandler on_publish_;

  util::UniqueFd listen_fd_;  // plaintext only
  util::UniqueFd wake_fd_;    // an eventfd: readable once stopping
  std::unique_ptr<tls::Listener> tls_listener_;

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Connection> incoming_;     // not read yet
  std::deque<util::UniqueFd> waiting_;  // checkpoint requests waiting for the transfer thread
  int reading_fd_ = -1;                 // the request thread's connection
  int serving_fd_ = -1;                 // the transfer's
  bool quit_ = false;
  std::thread acceptor_;
  std::thread requests_;
  std::thread server_;
};

}  // namespace revkv::apps
