#pragma once

// A scenario target that is one revkvd process, whichever door its client uses: the node's
// flags from the scenario options (3 shards, --sync never), a temporary data directory,
// restart() (SIGTERM — a clean shutdown, exit status 0 — then a new process on the same
// directory), reset() (a new directory) and the event history as a watch from the first
// revision replays it. A door's target connects its client in connect() and drops it in
// disconnect(); its constructor calls start() once its own members exist.

#include "tests/node/node_process.hpp"
#include "tests/scenarios/scenario_target.hpp"
#include "tests/scenarios/watch_history.hpp"
#include "tests/scenarios/wire_lease_records.hpp"
#include "tests/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <vector>

namespace revkv::testing {

class NodeProcessTarget : public WireLeaseRecords {
 public:
  void restart() override {
    stop();
    start();
  }
  void reset() override {
    stop();
    dir_ = std::make_unique<TempDir>();
    start();
  }
  Outcome<std::vector<storage::Event>> events(int64_t from, int64_t to) override {
    return replay_history(*open_watch_stream(), from, to);
  }

 protected:
  explicit NodeProcessTarget(const ScenarioOptions& options)
      : flags_{"--shards",      "3",
               "--sync",        "never",
               "--max-txn-ops", std::to_string(options.max_txn_ops)} {
    if (options.watch_progress_interval.count() > 0) {
      flags_.push_back("--watch-progress-notify-interval");
      flags_.push_back(std::to_string(options.watch_progress_interval.count()) + "ms");
    }
  }

  void start() {
    node_ = std::make_unique<NodeProcess>(dir_->sub("data"), flags_);
    connect(*node_);
  }
  void stop() {
    disconnect();
    CHECK(node_->stop() == 0);
    node_.reset();
  }
  const NodeProcess& node() const { return *node_; }

  virtual void connect(const NodeProcess& node) = 0;
  virtual void disconnect() = 0;

 private:
  std::vector<std::string> flags_;
  std::unique_ptr<TempDir> dir_ = std::make_unique<TempDir>();
  std::unique_ptr<NodeProcess> node_;  // after dir_: stopped before the dir is removed
};

}  // namespace revkv::testing
