#pragma once

// The concurrent load of a power-cut round: client threads, each with its own door into
// the in-process node (tests/actors/harness_door.hpp), sending puts, multi-shard txns,
// deletes, lease grants/puts/revokes and — one of them — compactions, defragments,
// snapshots and NOSPACE alarm changes, recording everything in a History. A client stops
// at its first request that gets no answer (the power is off, the node is dying).

#include "actors/node.hpp"
#include "tests/powerloss/history.hpp"
#include "tests/powerloss/power_cut_fs.hpp"

#include <caf/fwd.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace revkv::testing {

struct LoadOptions {
  size_t clients = 3;
  size_t requests_per_client = 60;  // a client stops after this many requests
  uint64_t seed = 1;
  std::chrono::milliseconds reply_timeout{5000};
};

// Maintenance requests the load got a successful answer to.
struct MaintenanceCounts {
  std::atomic<size_t> compactions{0};
  std::atomic<size_t> defragments{0};
  std::atomic<size_t> snapshots{0};
  std::atomic<size_t> alarm_changes{0};
};

class Load {
 public:
  Load(caf::actor_system& sys, const actors::Node& node, const PowerCutFs& fs, History& history,
       LoadOptions options);
  ~Load();  // stop() and join
  Load(const Load&) = delete;
  Load& operator=(const Load&) = delete;

  // Blocks until every client has sent its requests or stopped.
  void join();
  // Waits until every client has finished or `also` holds, at most until `deadline`.
  // True when the clients have finished.
  bool wait_finished(const std::function<bool()>& also,
                     std::chrono::steady_clock::time_point deadline);
  const MaintenanceCounts& maintenance() const { return maintenance_; }
  // Ends the clients' doors: a request waiting for its answer gets an error at once.
  void stop();

 private:
  struct Client;
  void run(Client& client);

  caf::actor_system& sys_;
  const actors::Node& node_;
  const PowerCutFs& fs_;
  History& history_;
  LoadOptions options_;
  MaintenanceCounts maintenance_;
  std::vector<std::unique_ptr<Client>> clients_;
  std::vector<std::thread> threads_;
  std::mutex finished_mutex_;
  std::condition_variable finished_changed_;
  size_t finished_ = 0;
};

}  // namespace revkv::testing
