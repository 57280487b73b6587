#pragma once

// etcd 3.4 and revkvd side by side for the JSON gateway's tests against the reference: a
// real etcd (Debian's etcd-server) and a revkvd, each on free loopback ports with its own
// temporary data directory, and what differs between any two clusters set aside.

#include "tests/etcdapi/etcd_process.hpp"
#include "tests/etcdapi/http_conn.hpp"
#include "tests/node/node_process.hpp"
#include "tests/skip.hpp"
#include "tests/temp_dir.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <regex>
#include <string>
#include <thread>
#include <vector>

namespace revkv::testing {

// Ids, terms and the members' URLs differ between any two clusters: the rest must not.
inline std::string normalized(std::string json) {
  static const std::regex ids(R"re("(cluster_id|member_id|raft_term|leader)":"\d+")re");
  return std::regex_replace(json, ids, R"("$1":"N")");
}

struct SideBySide {
  // Nothing runs when etcd is not installed (running() is false). `node_flags` follow
  // revkvd's own.
  explicit SideBySide(std::vector<std::string> node_flags = {"--sync", "never"}) {
    const auto bin = find_etcd();
    if (bin.empty()) return;
    etcd = std::make_unique<EtcdProcess>(bin, dir.sub("etcd"));
    etcd_port =
        static_cast<uint16_t>(std::stoi(etcd->endpoint().substr(etcd->endpoint().rfind(':') + 1)));
    // Its gateway serves reads a moment after /health first says true.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (HttpConn(etcd_port, 5).post("/v3/kv/range", R"({"key":"AA=="})").status != 200 &&
           std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    node = std::make_unique<NodeProcess>(dir.sub("revkvd"), node_flags);
  }
  bool running() const { return etcd != nullptr; }

  TempDir dir;
  std::unique_ptr<EtcdProcess> etcd;
  uint16_t etcd_port = 0;
  std::unique_ptr<NodeProcess> node;
};

}  // namespace revkv::testing

// Returns from the test case, reported skipped, where etcd is not installed.
#define REQUIRE_ETCD(s)                                                                \
  if (!(s).running()) {                                                                \
    testing::report_skipped("etcd not installed (Debian etcd-server; scripts/setup)"); \
    return;                                                                            \
  }
