// Membership changes on revkvd processes under a recorded write load (docs/CLUSTER.md
// "Membership", "Fault tests"): the leader removing itself, a member added and a follower
// removed while clients write, read and CAS through every member, and the errors etcd gives
// meanwhile (a member added twice, the last voter removed). Every acknowledged write must be
// on every remaining member and the history linearizable. REVKV_CLUSTER_LONG=1 repeats the
// add/remove round 10 times in one cluster.

#include "tests/cluster/history_checks.hpp"
#include "tests/cluster/history_workload.hpp"
#include "tests/cluster/member_commands.hpp"
#include "tests/cluster/revkvd_cluster.hpp"
#include "tests/etcdapi/etcdctl_run.hpp"
#include "tests/node/node_process.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

using namespace revkv;
using namespace std::chrono_literals;
using testing::Cluster;
using testing::HistoryWorkload;

namespace {

int rounds() {
  const char* long_mode = std::getenv("REVKV_CLUSTER_LONG");
  return long_mode != nullptr && std::string(long_mode) == "1" ? 10 : 1;
}

// Member i's id in hex (etcdctl's spelling), from its own Status.
std::string hex_id(Cluster& cluster, std::mutex& mu, size_t i) {
  std::string endpoint;
  {
    std::lock_guard lock(mu);
    endpoint = cluster.member(i).endpoint();
  }
  auto c = client::Client::connect(endpoint, testing::with_timeout(5000ms));
  REQUIRE(c.ok());
  auto s = c.value().status();
  REQUIRE(s.ok());
  std::ostringstream out;
  out << std::hex << s.value().header.member_id;
  return out.str();
}

std::string grpc_endpoint(Cluster& cluster, std::mutex& mu, size_t i) {
  std::lock_guard lock(mu);
  return cluster.member(i).grpc_endpoint();
}

// How many members etcdctl's member list through `endpoint` shows; -1 on an error.
int listed(const std::string& bin, const std::string& endpoint) {
  auto list = testing::members_seen(bin, endpoint);
  if (list.starts_with("error") || list.starts_with("unexpected")) return -1;
  return static_cast<int>(std::count(list.begin(), list.end(), '\n'));
}

// A removed member's process ends by itself with status 0 (SIGTERM's clean shutdown), is
// forgotten by the cluster, and refuses to start again on its store.
void require_removed_and_stopped(Cluster& cluster, std::mutex& mu, size_t i) {
  INFO(cluster.log(i));
  // Not under the mutex: the clients keep going meanwhile (wait_exit does not touch what
  // they read).
  REQUIRE(cluster.member(i).wait_exit(30s) == 0);
  {
    std::lock_guard lock(mu);
    cluster.stop(i, 1s);  // already ended: only forgets it
  }
  std::vector<std::string> args{"--data-dir", cluster.data_dir(i)};
  auto flags = cluster.flags(i);
  args.insert(args.end(), flags.begin(), flags.end());
  auto [status, log] = testing::run_revkvd(args);
  CAPTURE(log);
  CHECK(status != 0);
  CHECK(status != -1);  // refused at once, not killed after the deadline
  CHECK(log.find("this member was removed from the cluster") != std::string::npos);
}

}  // namespace

TEST_CASE("membership under load: the leader removes itself and the others go on",
          "[cluster][process][membership]") {
  auto bin = testing::etcdctl_or_skip();
  if (bin.empty()) return;
  Cluster cluster(3);
  std::mutex mu;
  auto leader = testing::leader_among(cluster, mu, {}, 20s);
  REQUIRE(leader);
  const std::string leader_id = hex_id(cluster, mu, *leader);
  std::set<size_t> gone;
  {
    HistoryWorkload load(cluster, mu, "remove-leader", 4, 2, 3, 1000ms);
    REQUIRE(load.wait_for_writes(50, 30s));

    // A follower forwards a membership change to the leader (docs/CLUSTER.md "Membership")
    // and relays its answer: an unknown id is the leader's "member not found"; nothing
    // changed.
    const size_t follower = (*leader + 1) % 3;
    auto refused =
        testing::etcdctl(bin, grpc_endpoint(cluster, mu, follower), "member remove 1234");
    CAPTURE(refused.out);
    CHECK(refused.status != 0);
    CHECK(refused.out.find("etcdserver: member not found") != std::string::npos);
    CHECK(listed(bin, grpc_endpoint(cluster, mu, follower)) == 3);

    // The leader itself.
    auto removed =
        testing::etcdctl(bin, grpc_endpoint(cluster, mu, *leader), "member remove " + leader_id);
    CAPTURE(removed.out);
    INFO("the leader's log: " << cluster.log(*leader));
    CHECK(removed.status == 0);
    CHECK(removed.out.find("removed from cluster") != std::string::npos);
    gone.insert(*leader);
    auto next = testing::leader_among(cluster, mu, gone, 15s);
    REQUIRE(next);
    REQUIRE(load.wait_for_writes(50, 30s));
    require_removed_and_stopped(cluster, mu, *leader);
    for (size_t i = 0; i < 3; ++i) {
      if (gone.count(i) != 0) continue;
      CAPTURE(i);
      CHECK(testing::eventually([&] { return listed(bin, grpc_endpoint(cluster, mu, i)) == 2; }));
      CHECK(testing::members_seen(bin, grpc_endpoint(cluster, mu, i)).find(leader_id + ",") ==
            std::string::npos);
    }
    testing::finish_round(cluster, mu, load, "remove-leader", gone);
  }

  // Down to one member, then the last voter: etcd refuses what would leave no quorum.
  auto now = testing::leader_among(cluster, mu, gone, 15s);
  REQUIRE(now);
  size_t other = 0;
  while (other == *now || gone.count(other) != 0)
    ++other;
  auto to_one = testing::etcdctl(bin, grpc_endpoint(cluster, mu, *now),
                                 "member remove " + hex_id(cluster, mu, other));
  CAPTURE(to_one.out);
  CHECK(to_one.status == 0);
  require_removed_and_stopped(cluster, mu, other);
  gone.insert(other);
  auto last = testing::etcdctl(bin, grpc_endpoint(cluster, mu, *now),
                               "member remove " + hex_id(cluster, mu, *now));
  CAPTURE(last.out);
  CHECK(last.status != 0);
  CHECK(last.out.find("etcdserver: re-configuration failed due to not enough started members") !=
        std::string::npos);
  // Still the one-member cluster it was: it leads and writes.
  CHECK(listed(bin, grpc_endpoint(cluster, mu, *now)) == 1);
  auto c = cluster.connect(*now);
  CHECK(c.put(testing::put_of("after/last-voter", "kept")).ok());
}

TEST_CASE("membership under load: a member added and a follower removed while clients write",
          "[cluster][process][membership]") {
  auto bin = testing::etcdctl_or_skip();
  if (bin.empty()) return;
  Cluster cluster(3);
  std::mutex mu;
  std::set<size_t> gone;
  for (int round = 0; round < rounds(); ++round) {
    CAPTURE(round);
    auto leader = testing::leader_among(cluster, mu, gone, 20s);
    REQUIRE(leader);
    const std::string name = "add-remove-" + std::to_string(round);
    HistoryWorkload load(cluster, mu, name, 4, 2, 3, 1000ms);
    REQUIRE(load.wait_for_writes(50, 30s));

    // Added through the leader, then the same peer URL again: etcd's refusal.
    size_t added = 0;
    std::string peer_url;
    {
      std::lock_guard lock(mu);
      added = cluster.reserve_member();
      peer_url = cluster.peer_url(added);
    }
    const std::string at = grpc_endpoint(cluster, mu, *leader);
    auto add =
        testing::etcdctl(bin, at, "member add " + cluster.name(added) + " --peer-urls=" + peer_url);
    CAPTURE(add.out);
    REQUIRE(add.status == 0);
    const std::string id = testing::hex_id_of(add.out);
    REQUIRE(!id.empty());
    auto twice = testing::etcdctl(bin, at, "member add twice --peer-urls=" + peer_url);
    CAPTURE(twice.out);
    CHECK(twice.status != 0);
    CHECK(twice.out.find("etcdserver: Peer URLs already exists") != std::string::npos);
    {
      std::lock_guard lock(mu);
      cluster.start(added);
    }
    INFO("the added member's log: " << cluster.log(added));
    // A voter once it caught up (the leader promotes it by itself).
    CHECK(testing::eventually(
        [&] {
          return testing::members_seen(bin, at).find(testing::member_row(
                     id, cluster.name(added), peer_url, false)) != std::string::npos;
        },
        60s));
    REQUIRE(load.wait_for_writes(50, 30s));

    // A follower that is not the new one removed: it stops, the others write on.
    auto now = testing::leader_among(cluster, mu, gone, 20s);
    REQUIRE(now);
    size_t follower = 0;
    while (follower == *now || follower == added || gone.count(follower) != 0)
      ++follower;
    const std::string follower_id = hex_id(cluster, mu, follower);
    auto removed =
        testing::etcdctl(bin, grpc_endpoint(cluster, mu, *now), "member remove " + follower_id);
    CAPTURE(removed.out);
    CHECK(removed.status == 0);
    require_removed_and_stopped(cluster, mu, follower);
    gone.insert(follower);
    REQUIRE(load.wait_for_writes(50, 30s));
    testing::finish_round(cluster, mu, load, name, gone);
    // Three members again, the same list everywhere.
    const std::string expected = testing::members_seen(bin, grpc_endpoint(cluster, mu, *now));
    CAPTURE(expected);
    CHECK(std::count(expected.begin(), expected.end(), '\n') == 3);
    CHECK(expected.find(follower_id + ",") == std::string::npos);
    for (size_t i = 0; i < cluster.size(); ++i) {
      if (gone.count(i) != 0) continue;
      CHECK(testing::eventually(
          [&] { return testing::members_seen(bin, grpc_endpoint(cluster, mu, i)) == expected; }));
    }
  }
}
