#pragma once

// Fetches a peer's checkpoint for a member that is behind the leader's compacted log
// (docs/CLUSTER.md "Catch-up from a peer's checkpoint"): dials the source's catch-up port
// (TLS with the peer certificates when peer TLS is on), receives the files into
// DATA_DIR/catchup/staging, checks every digest, then marks the checkpoint staged
// (apps/revkvd/catchup_store.hpp); then the process restarts into it, either through
// `on_staged` or by its caller. A failed fetch leaves nothing staged; on the fetcher's own
// thread it is tried again after a pause (1 s, doubling up to 30 s), from the newest source
// a snapshot named, without waiting for libraft to send the snapshot again. One fetch runs
// at a time, whichever thread asks.

#include "apps/revkvd/catchup_store.hpp"
#include "apps/revkvd/checkpoint_transfer.hpp"
#include "tls/client_tunnel.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace revkv::apps {

class CheckpointFetcher {
 public:
  CheckpointFetcher(const std::filesystem::path& data_dir, tls::ClientConfig peer_tls,
                    std::function<void()> on_staged);
  // Cuts a fetch in progress short and joins it.
  ~CheckpointFetcher();
  CheckpointFetcher(const CheckpointFetcher&) = delete;
  CheckpointFetcher& operator=(const CheckpointFetcher&) = delete;

  // Fetches from `source` (HOST:PORT) on a thread of its own until a checkpoint is staged
  // (or the fetcher is destroyed). While one runs, a later call only changes the source the
  // next attempt dials. Returns at once.
  void start(const std::string& source, std::uint64_t index);
  // The same on the calling thread; whether a checkpoint was staged (and on_staged called).
  bool fetch(const std::string& source, std::uint64_t index);
  // One fetch on the calling thread, without on_staged: whether a checkpoint was staged (its
  // caller restarts the process into it).
  bool stage(const std::string& source, std::uint64_t index);
  // Cuts a fetch in progress short, on whichever thread it runs, and starts none again (the
  // member stops).
  void cancel();
  bool cancelled() {
    std::lock_guard lock(mutex_);
    return quit_;
  }

 private:
  bool fetch_once(const std::string& source, std::uint64_t index, std::string& error);
  void retry_loop();

  CatchupPaths paths_;
  tls::ClientConfig tls_;
  std::function<void()> on_staged_;
  TransferLimits limits_;
  std::mutex fetch_mutex_;  // held by the one fetch that runs (stage)
  std::mutex mutex_;
  std::condition_variable wake_;
  int socket_ = -1;  // the fetch's connection, shut down by the destructor
  bool quit_ = false;
  std::string source_;  // the newest source start() was given
  std::uint64_t index_ = 0;
  std::atomic<bool> running_{false};
  std::atomic<bool> staged_{false};
  std::thread thread_;
};

}  // namespace revkv::apps
