#pragma once

// Member processes of one revkvd cluster for the tests (docs/CLUSTER.md): named a, b, c, ...
// on free loopback ports and temporary directories, started, killed and stopped by PID.

#include "client/client.hpp"
#include "tests/monitoring/http_client.hpp"
#include "tests/node/node_process.hpp"
#include "tests/temp_dir.hpp"

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace revkv::testing {

class Cluster {
 public:
  explicit Cluster(size_t size) {
    for (size_t i = 0; i < size; ++i) {
      names_.push_back(std::string(1, static_cast<char>('a' + i)));
      if (!initial_.empty()) initial_ += ",";
      initial_ += names_.back() + "=127.0.0.1:" + std::to_string(free_loopback_port());
    }
    members_.resize(size);
    for (size_t i = 0; i < size; ++i)
      start(i);
  }

  size_t size() const { return members_.size(); }
  bool running(size_t i) const { return members_[i] != nullptr; }
  NodeProcess& member(size_t i) { return *members_[i]; }

  void start(size_t i) {
    members_[i] = std::make_unique<NodeProcess>(
        dir_.sub(names_[i]),
        std::vector<std::string>{"--name", names_[i], "--initial-cluster", initial_, "--shards",
                                 "2"},
        dir_.sub(names_[i] + ".log"));
  }
  void kill9(size_t i) {
    members_[i]->kill9();
    members_[i].reset();
  }
  // SIGTERM; the exit status (-1: still running after `grace`, then killed).
  int stop(size_t i, std::chrono::seconds grace) {
    int status = members_[i]->stop(grace);
    members_[i].reset();
    return status;
  }

  client::Client connect(size_t i) {
    return std::move(client::Client::connect(members_[i]->endpoint())).value();
  }

  // The member that accepts a write (the probe key is a real write), within `limit`.
  std::optional<size_t> find_leader(std::chrono::seconds limit) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      for (size_t i = 0; i < size(); ++i) {
        if (!running(i)) continue;
        auto c = client::Client::connect(members_[i]->endpoint());
        if (!c.ok()) continue;
        storage::PutRequest probe;
        probe.key = "leader-probe";
        probe.value = names_[i];
        if (c.value().put(probe).ok()) return i;
      }
      std::this_thread::yield();
    }
    return std::nullopt;
  }

  // Member i's W (a serializable read's header revision), once it reached `revision`.
  bool wait_revision(size_t i, int64_t revision, std::chrono::seconds limit) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    auto c = connect(i);
    while (std::chrono::steady_clock::now() < deadline) {
      storage::RangeRequest r;
      r.key = "x";
      r.serializable = true;
      auto got = c.range(r);
      if (got.ok() && got.value().response.revision >= revision) return true;
      std::this_thread::yield();
    }
    return false;
  }

 private:
  TempDir dir_;
  std::vector<std::string> names_;
  std::string initial_;
  std::vector<std::unique_ptr<NodeProcess>> members_;
};

}  // namespace revkv::testing
