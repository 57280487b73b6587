// The seeded random sequence against a real etcd 3.4 (tests/etcdapi/vs_etcd_run.hpp) with a
// 3-member revkvd cluster on the revkvd side: each request goes over gRPC to the next member
// in turn (a follower forwards writes and linearizable reads to the leader), the watchers'
// stream is on one member. Every answer and every watcher's events must be what the single
// etcd answers. What a member serves from its own applied state (serializable ranges,
// HashKV, watch requests: docs/CLUSTER.md "Followers, reads and errors") is asked once that
// member has applied every entry the leader has. Skipped where etcd is not installed.
//
// CI runs one seed of a few hundred requests. Long mode:
//   REVKV_CLUSTER_VS_ETCD_SEEDS=1,2,3   the seeds (default: the fixed set)
//   REVKV_CLUSTER_VS_ETCD_OPS=5000      requests per seed (default 300)

#include "tests/cluster/revkvd_cluster.hpp"
#include "tests/etcdapi/etcd_process.hpp"
#include "tests/etcdapi/vs_etcd_run.hpp"
#include "tests/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <csignal>
#include <memory>
#include <string>
#include <vector>

namespace revkv::testing {
namespace {

class ClusterSide final : public vs_etcd::RevkvdSide {
 public:
  // `watch_member`: the member whose stream the watchers use.
  ClusterSide(Cluster& cluster, size_t watch_member)
      : cluster_(cluster), watch_member_(watch_member) {
    for (size_t i = 0; i < cluster.size(); ++i)
      clients_.push_back(std::make_unique<GrpcClient>(cluster.member(i).grpc_endpoint()));
    wait_ready();
  }

  GrpcClient& next(bool local) override {
    const size_t m = next_++ % clients_.size();
    if (local) wait_applied(m);
    return *clients_[m];
  }
  std::string watch_endpoint() override { return cluster_.member(watch_member_).grpc_endpoint(); }
  void before_watch_request() override { wait_applied(watch_member_); }

 private:
  // Every member serves a linearizable read (a follower forwards it once the leader has
  // published its address). No write: revisions count from an empty store, as etcd's.
  void wait_ready() {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    for (auto& c : clients_) {
      storage::RangeRequest probe;
      probe.key = "ready";
      while (!std::holds_alternative<storage::RangeResponse>(c->range(probe))) {
        REQUIRE(std::chrono::steady_clock::now() < deadline);
        poll_pause();
      }
    }
  }
  // Waits (deadline 30 s) until member `m` has caught up with the leader (caught_up()).
  void wait_applied(size_t m) {
    const auto leader = leader_status();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    for (;;) {
      auto s = clients_[m]->status();
      REQUIRE(std::holds_alternative<protocol::StatusResponse>(s));
      if (caught_up(std::get<protocol::StatusResponse>(s), leader)) return;
      REQUIRE(std::chrono::steady_clock::now() < deadline);
      poll_pause();
    }
  }
  protocol::StatusResponse leader_status() {
    for (auto& c : clients_) {
      auto s = c->status();
      REQUIRE(std::holds_alternative<protocol::StatusResponse>(s));
      const auto& status = std::get<protocol::StatusResponse>(s);
      if (status.leader != 0 && status.leader == status.header.member_id) return status;
    }
    FAIL("no member leads");
    return {};
  }

  Cluster& cluster_;
  size_t watch_member_;
  std::vector<std::unique_ptr<GrpcClient>> clients_;
  size_t next_ = 0;
};

TEST_CASE("cluster vs etcd 3.4: a seeded random sequence through every member in turn",
          "[cluster][differential][clients]") {
  const auto bin = etcd_or_skip();
  if (bin.empty()) return;
  const int ops = count_from("REVKV_CLUSTER_VS_ETCD_OPS", 300);
  size_t n = 0;
  for (uint64_t seed : seeds_from("REVKV_CLUSTER_VS_ETCD_SEEDS", {20261206})) {
    const size_t watch_member = n++ % 3;
    DYNAMIC_SECTION("seed " << seed << ", watchers on member " << watch_member) {
      TempDir dir;
      EtcdProcess etcd(bin, dir.sub("etcd"));
      Cluster cluster(3, {"--sync", "never"});
      ClusterSide ours(cluster, watch_member);
      vs_etcd::run_sequence(seed, ops, ours, etcd.endpoint());
      for (size_t i = 0; i < cluster.size(); ++i)
        CHECK(cluster.stop(i, std::chrono::seconds(20)) == 0);
      CHECK(etcd.stop() == 128 + SIGTERM);  // etcd re-raises SIGTERM after its cleanup
    }
  }
}

}  // namespace
}  // namespace revkv::testing
