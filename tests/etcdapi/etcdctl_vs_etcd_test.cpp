// etcdctl 3.4 side by side: the same command list against a real etcd 3.4 (Debian's
// etcd-server) and against revkvd, each fresh, must print the same output and exit with
// the same status, once what legitimately differs is normalized: cluster and member ids,
// the raft term, lease ids (each side's own), endpoints, timings and the client library's
// retry log lines. Skipped, not passed, where etcd or etcdctl is missing.

#include "tests/etcdapi/background_etcdctl.hpp"
#include "tests/etcdapi/etcd_process.hpp"
#include "tests/etcdapi/etcdctl_run.hpp"
#include "tests/node/node_process.hpp"
#include "tests/skip.hpp"
#include "tests/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

namespace revkv {
namespace {

using namespace std::chrono_literals;

// One server under test: its endpoint and the ids it handed out, to normalize.
struct Side {
  std::string bin;
  std::string endpoint;
  std::vector<std::string> leases;  // hex, in grant order

  std::string normalize(std::string out) const {
    // clientv3's retry interceptor logs each refused call with a timestamp and a target.
    out = std::regex_replace(out, std::regex(R"(\{"level":"warn"[^\n]*\n)"), "");
    out = std::regex_replace(out, std::regex(R"(("cluster_id"|"member_id"|"raft_term"):\d+)"),
                             "$1:N");
    out = std::regex_replace(out, std::regex(R"(("ClusterID"|"MemberID"|"RaftTerm") : \d+)"),
                             "$1 : N");
    // (µ is two bytes in UTF-8: an alternative, not a character class.)
    out = std::regex_replace(out, std::regex(R"(took = [0-9.]+(µs|ms|ns|s))"), "took = T");
    // Lock keys carry the locker's lease id.
    out = std::regex_replace(out, std::regex(R"(L/[0-9a-f]+)"), "L/LOCK");
    for (size_t i = 0; i < leases.size(); ++i) {
      std::string name = "LEASE" + std::to_string(i);
      out = std::regex_replace(out, std::regex(leases[i]), name);
      auto dec = std::to_string(std::stoll(leases[i], nullptr, 16));
      out = std::regex_replace(out, std::regex("\\b" + dec + "\\b"), name);
    }
    size_t at = 0;
    while ((at = out.find(endpoint, at)) != std::string::npos)
      out.replace(at, endpoint.size(), "ENDPOINT");
    return out;
  }

  // `args` with {LEASEi} replaced by this side's i-th lease id.
  testing::Run run(std::string args, const std::string& input) {
    for (size_t i = 0; i < leases.size(); ++i) {
      std::string token = "{LEASE" + std::to_string(i) + "}";
      for (size_t at; (at = args.find(token)) != std::string::npos;)
        args.replace(at, token.size(), leases[i]);
    }
    auto r = testing::etcdctl(bin, endpoint, args, input);
    std::smatch m;
    if (std::regex_search(r.out, m, std::regex("^lease ([0-9a-f]+) granted")))
      leases.push_back(m[1]);
    return r;
  }
};

struct Step {
  std::string args;
  std::string input;
};

}  // namespace

TEST_CASE("etcdctl 3.4 prints the same against revkvd as against etcd 3.4",
          "[etcdapi][node][reference]") {
  auto bin = testing::etcdctl_or_skip();
  if (bin.empty()) return;
  auto etcd_bin = testing::etcd_or_skip();
  if (etcd_bin.empty()) return;
  testing::TempDir dir;
  testing::EtcdProcess etcd(etcd_bin, dir.sub("etcd"));
  testing::NodeProcess revkvd(dir.sub("revkvd"), {"--sync", "never"});
  Side reference{bin, etcd.endpoint(), {}};
  Side ours{bin, revkvd.grpc_endpoint(), {}};

  const std::vector<Step> steps = {
      {"put foo bar", ""},
      {"put foo baz --prev-kv", ""},
      {"put foo2 v2", ""},
      {"put bar 1", ""},
      {"get foo", ""},
      {"get foo -w json", ""},
      {"get foo --prefix -w fields", ""},
      {"get foo --prefix --keys-only", ""},
      {"get foo --prefix --print-value-only", ""},
      {"get foo --prefix --count-only -w json", ""},
      {"get foo --prefix --limit=1 -w json", ""},
      {"get --from-key a", ""},
      {"get foo --prefix --sort-by=MODIFY --order=DESCEND", ""},
      {"get foo --prefix --sort-by=VALUE --order=ASCEND -w json", ""},
      {"get foo --rev=2", ""},
      {"get foo --rev=100", ""},
      {"get a z", ""},
      {"get foo --consistency=s", ""},
      {"put foo3 x --ignore-value", ""},
      {"put foo x --ignore-value", ""},
      {"txn", "value(\"foo\") = \"x\"\n\nput t yes\nget foo\n\nput t no\n\n"},
      {"txn -w json", "mod(\"foo\") > \"1000\"\n\nput t yes\n\nput t no\ndel bar\n\n"},
      {"txn", "version(\"t\") = \"1\"\ncreate(\"foo\") = \"2\"\n\nget t\n\n\n"},
      // Before any lease: lease ids (in values' records) differ between the two servers.
      {"endpoint hashkv", ""},
      {"del nothing", ""},
      {"del foo --prev-kv", ""},
      {"del foo --prefix -w json", ""},
      {"lease grant 100", ""},
      {"put --lease={LEASE0} leased v", ""},
      {"lease timetolive {LEASE0} --keys", ""},
      {"lease timetolive {LEASE0} --keys -w json", ""},
      {"lease list", ""},
      {"lease keep-alive --once {LEASE0}", ""},
      {"lease revoke {LEASE0}", ""},
      {"get leased", ""},
      {"lease revoke {LEASE0}", ""},
      {"lease timetolive {LEASE0}", ""},
      {"lease revoke 1234", ""},
      {"put k v --lease=1234", ""},
      {"lease grant 9000000001", ""},
      {"compaction 100", ""},
      {"compaction 5", ""},
      {"compaction 5", ""},
      {"compaction 6 --physical", ""},
      {"get foo --rev=3", ""},
      {"endpoint health", ""},
      {"alarm list", ""},
      {"lock L echo held", ""},
      {"get L --prefix", ""},
      {"put '' empty", ""},
      {"get ''", ""},
  };
  for (const auto& step : steps) {
    auto expected = reference.run(step.args, step.input);
    auto got = ours.run(step.args, step.input);
    INFO("etcdctl " << step.args << "\n-- etcd:\n" << expected.out << "-- revkvd:\n" << got.out);
    CHECK(got.status == expected.status);
    CHECK(ours.normalize(got.out) == reference.normalize(expected.out));
  }

  // A watch replaying the whole history, then live: the same events.
  auto watch_output = [](Side& side) {
    testing::BackgroundEtcdctl watch(side.bin, side.endpoint,
                                     "watch --prefix '' --rev 6 --prev-kv");
    side.run("put zz-end done", "");
    REQUIRE(watch.wait_for("zz-end\ndone\n", 30s));
    return side.normalize(watch.output());
  };
  CHECK(watch_output(ours) == watch_output(reference));
}

}  // namespace revkv
