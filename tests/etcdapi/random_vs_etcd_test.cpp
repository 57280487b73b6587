// The randomized differential test against the reference: one seeded random sequence of
// etcd requests (tests/etcdapi/random_requests.hpp) sent over gRPC to a fresh revkvd and to
// a fresh real etcd 3.4 (Debian's etcd-server); every answer must be the same — the
// response with its header revision, or the error as {gRPC code, exact message}. What two
// servers cannot share is set aside: cluster and member ids, raft terms, a lease's remaining
// TTL (the clocks'). A Txn's response is also compared as written, nested headers included.
// Watchers on one Watch stream per server see the whole sequence; each watcher's events and
// cancels must be the same, in the same order. Skipped where etcd is not installed.
//
// CI runs a fixed set of seeds, a few hundred requests each. Long mode:
//   REVKV_VS_ETCD_SEEDS=1,2,3   the seeds (default: the fixed set)
//   REVKV_VS_ETCD_OPS=20000     requests per seed (default 300)

#include "tests/etcdapi/etcd_process.hpp"
#include "tests/etcdapi/vs_etcd_run.hpp"
#include "tests/node/node_process.hpp"
#include "tests/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <csignal>
#include <string>
#include <vector>

namespace revkv {
namespace {

TEST_CASE("vs etcd 3.4: a seeded random sequence gets the same answers from revkvd and etcd",
          "[etcdapi][node][differential][clients]") {
  const auto bin = testing::etcd_or_skip();
  if (bin.empty()) return;
  const int ops = testing::count_from("REVKV_VS_ETCD_OPS", 300);
  const std::vector<std::string> shard_counts = {"4", "1", "7"};
  size_t n = 0;
  for (uint64_t seed : testing::seeds_from("REVKV_VS_ETCD_SEEDS", {3, 20261206})) {
    const std::string& shards = shard_counts[n++ % shard_counts.size()];
    DYNAMIC_SECTION("seed " << seed << ", " << shards << " shards") {
      testing::TempDir dir;
      testing::EtcdProcess etcd(bin, dir.sub("etcd"));
      testing::NodeProcess node(dir.sub("revkvd"),
                                std::vector<std::string>{"--shards", shards, "--sync", "never"});
      testing::vs_etcd::OneNode ours(node.grpc_endpoint());
      testing::vs_etcd::run_sequence(seed, ops, ours, etcd.endpoint());
      CHECK(node.stop() == 0);
      CHECK(etcd.stop() == 128 + SIGTERM);  // etcd re-raises SIGTERM after its cleanup
    }
  }
}

}  // namespace
}  // namespace revkv
