// etcdctl 3.4's long-running verbs against revkvd's gRPC door: `watch` (replay with
// --rev/--prefix/--prev-kv, live events, interactive), and the concurrency recipes built on
// leases, transactions and watches together: `lock` (a second locker waits until the first
// lets go) and `elect` (a leader, a waiting candidate and an observer that sees leadership
// pass). Skipped, not passed, where etcdctl is not installed.

#include "tests/etcdapi/background_etcdctl.hpp"
#include "tests/etcdapi/etcdctl_run.hpp"
#include "tests/node/node_process.hpp"
#include "tests/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <regex>
#include <string>

namespace revkv {
namespace {

using namespace std::chrono_literals;

struct Fixture {
  Fixture() : node(dir.sub("data"), {"--sync", "never"}) {}
  testing::Run run(const std::string& args, const std::string& input = "") {
    auto r = testing::etcdctl(bin, node.grpc_endpoint(), args, input);
    INFO("etcdctl " << args << "\n" << r.out);
    REQUIRE(r.status == 0);
    return r;
  }
  std::string bin = testing::find_etcdctl();
  testing::TempDir dir;
  testing::NodeProcess node;
};

// Lease ids in lock and election keys differ from run to run.
std::string normalize_ids(const std::string& s) {
  return std::regex_replace(s, std::regex("/[0-9a-f]{6,16}"), "/ID");
}

}  // namespace

TEST_CASE("etcdctl 3.4 watch: replay from a revision with prefix and prev-kv, then live",
          "[etcdapi][node][watch]") {
  if (testing::etcdctl_or_skip().empty()) return;
  Fixture f;
  f.run("put k1 a");
  f.run("put k2 b");
  f.run("put k1 c");
  f.run("del k2");
  testing::BackgroundEtcdctl watch(f.bin, f.node.grpc_endpoint(),
                                   "watch --prefix k --rev 2 --prev-kv");
  const std::string replay =
      "PUT\nk1\na\n"
      "PUT\nk2\nb\n"
      "PUT\nk1\na\nk1\nc\n"
      "DELETE\nk2\nb\nk2\n\n";
  REQUIRE(watch.wait_for(replay, 30s));
  f.run("put k3 live");
  f.run("put other x");  // not under the prefix
  f.run("put k3 again");
  REQUIRE(watch.wait_for("PUT\nk3\nlive\nk3\nagain\n", 30s));
  CHECK(watch.output() == replay + "PUT\nk3\nlive\nPUT\nk3\nlive\nk3\nagain\n");
}

TEST_CASE("etcdctl 3.4 watch -i: watches named on stdin", "[etcdapi][node][watch]") {
  if (testing::etcdctl_or_skip().empty()) return;
  Fixture f;
  testing::BackgroundEtcdctl watch(f.bin, f.node.grpc_endpoint(), "watch -i");
  watch.write("watch a\nwatch b --prefix\n");
  // The watches exist once their keys' events show: put until both came through.
  auto deadline = std::chrono::steady_clock::now() + 30s;
  bool both = false;
  for (int i = 0; !both && std::chrono::steady_clock::now() < deadline; ++i) {
    f.run("put a " + std::to_string(i));
    f.run("put b2 " + std::to_string(i));
    both = watch.wait_for("PUT\na\n", 200ms) && watch.wait_for("PUT\nb2\n", 200ms);
  }
  REQUIRE(both);
  f.run("put a last");
  REQUIRE(watch.wait_for("PUT\na\nlast\n", 30s));
}

TEST_CASE("etcdctl 3.4 lock: a second locker waits for the first to let go",
          "[etcdapi][node][lock]") {
  if (testing::etcdctl_or_skip().empty()) return;
  Fixture f;
  testing::BackgroundEtcdctl first(f.bin, f.node.grpc_endpoint(), "lock L");
  REQUIRE(first.wait_for("L/", 30s));  // it holds the lock and prints its key
  testing::BackgroundEtcdctl second(f.bin, f.node.grpc_endpoint(), "lock L echo acquired-second");
  // The second locker's key exists (two keys under L/) while the first still holds.
  auto deadline = std::chrono::steady_clock::now() + 30s;
  std::string keys;
  while (std::chrono::steady_clock::now() < deadline) {
    keys = f.run("get --prefix L/ --keys-only").out;
    if (normalize_ids(keys) == "L/ID\n\nL/ID\n\n") break;
  }
  REQUIRE(normalize_ids(keys) == "L/ID\n\nL/ID\n\n");
  // Waiting: it has not run its command while the first holds the lock.
  CHECK_FALSE(second.wait_for("acquired-second", 300ms));
  // Ctrl-C: the first lets go (deletes its key, revokes its lease); the second gets it,
  // runs its command and releases.
  CHECK(first.interrupt(30s) >= 0);
  REQUIRE(second.wait_exit(30s) == 0);
  CHECK(second.output() == "acquired-second\n");
  CHECK(f.run("get --prefix L/ --keys-only").out == "");
}

TEST_CASE("etcdctl 3.4 elect: a leader, a waiting candidate and an observer",
          "[etcdapi][node][elect]") {
  if (testing::etcdctl_or_skip().empty()) return;
  Fixture f;
  testing::BackgroundEtcdctl p1(f.bin, f.node.grpc_endpoint(), "elect E p1");
  REQUIRE(p1.wait_for("p1\n", 30s));
  CHECK(normalize_ids(p1.output()) == "E/ID\np1\n");
  testing::BackgroundEtcdctl p2(f.bin, f.node.grpc_endpoint(), "elect E p2");
  testing::BackgroundEtcdctl observer(f.bin, f.node.grpc_endpoint(), "elect -l E");
  REQUIRE(observer.wait_for("p1\n", 30s));
  CHECK_FALSE(p2.wait_for("p2", 300ms));  // not the leader while p1 is
  CHECK(p1.interrupt(30s) >= 0);          // p1 resigns
  REQUIRE(p2.wait_for("p2\n", 30s));
  CHECK(normalize_ids(p2.output()) == "E/ID\np2\n");
  REQUIRE(observer.wait_for("p2\n", 30s));
  CHECK(normalize_ids(observer.output()) == "E/ID\np1\nE/ID\np2\n");
}

}  // namespace revkv
