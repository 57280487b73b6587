// etcd derives its leases' minimum TTL from its Raft timing flags: revkvd and a real etcd
// 3.4 started with the same --heartbeat-interval and --election-timeout grant the same TTLs
// (etcdctl 3.4 asking both). docs/NODE.md "Lease timing and etcd's Raft flags".

#include "tests/etcdapi/etcd_process.hpp"
#include "tests/etcdapi/etcdctl_run.hpp"
#include "tests/node/node_process.hpp"
#include "tests/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <regex>
#include <string>
#include <vector>

namespace revkv {
namespace {

// The TTL etcdctl reports for `lease grant ttl` at `endpoint`, or -1 with its output in
// the test's log when it reports none.
int64_t granted_ttl(const std::string& etcdctl, const std::string& endpoint, int ttl) {
  auto run = testing::etcdctl(etcdctl, endpoint, "-w json lease grant " + std::to_string(ttl));
  std::smatch m;
  if (!std::regex_search(run.out, m, std::regex(R"("TTL":(\d+))"))) {
    UNSCOPED_INFO(endpoint << ": " << run.out);
    return -1;
  }
  return std::stoll(m[1].str());
}

}  // namespace

TEST_CASE("the leases' minimum TTL follows --election-timeout on revkvd as on etcd 3.4",
          "[etcdapi][node][reference][lease]") {
  auto etcdctl = testing::etcdctl_or_skip();
  if (etcdctl.empty()) return;
  auto etcd_bin = testing::etcd_or_skip();
  if (etcd_bin.empty()) return;
  testing::TempDir dir;
  // (timing flags, TTLs asked for): 1.5 election timeouts in whole ticks, up to a second.
  const std::vector<std::pair<std::vector<std::string>, std::vector<int>>> cases = {
      {{"--heartbeat-interval", "150", "--election-timeout", "3000"}, {1, 4, 5, 6}},
      {{"--heartbeat-interval", "100", "--election-timeout", "1000"}, {1, 2, 3}},
      {{"--heartbeat-interval", "300", "--election-timeout", "1700"}, {1, 2, 3}},
      // Whole ticks tell apart from 1.5 x E: 7 ticks of 400 ms = 2.8 s -> 3 (not 3.45 -> 4);
      // (3 x 5) / 2 = 7 ticks of 1 s -> 7 (not 7.5 -> 8).
      {{"--heartbeat-interval", "400", "--election-timeout", "2300"}, {1, 3, 4}},
      {{"--heartbeat-interval", "1000", "--election-timeout", "5000"}, {1, 7, 8}},
  };
  int run = 0;
  for (const auto& [flags, ttls] : cases) {
    INFO(flags[1] << " / " << flags[3]);
    testing::EtcdProcess etcd(etcd_bin, dir.sub("etcd" + std::to_string(run)), flags);
    auto ours_flags = flags;
    ours_flags.insert(ours_flags.end(), {"--sync", "never"});
    testing::NodeProcess revkvd(dir.sub("revkvd" + std::to_string(run)), ours_flags);
    ++run;
    for (int ttl : ttls) {
      INFO("TTL " << ttl);
      const int64_t reference = granted_ttl(etcdctl, etcd.endpoint(), ttl);
      CHECK(reference > 0);
      CHECK(granted_ttl(etcdctl, revkvd.grpc_endpoint(), ttl) == reference);
    }
  }
}

}  // namespace revkv
