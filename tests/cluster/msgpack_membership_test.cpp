// Membership on the MessagePack door of a 3-member cluster, through revkvctl (in process)
// and the client library (docs/CLUSTER.md "Membership", "Forwarding"): revkvctl's member
// list equals etcdctl's on the gRPC door, member add / promote / remove sent to a FOLLOWER
// are forwarded to the leader, etcd's errors, move-leader, endpoint status --cluster. One
// cluster for every step, in order (CI has 2 cores): plain scopes, not Catch sections, which
// would start the test case again for each.

#include "tests/cluster/member_commands.hpp"
#include "tests/cluster/revkvctl_run.hpp"
#include "tests/cluster/revkvd_cluster.hpp"
#include "tests/etcdapi/etcdctl_run.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <vector>

namespace revkv {
namespace {

using testing::Cluster;
using testing::Ctl;
using testing::eventually;
using testing::put_of;
using testing::revkvctl;

std::string hex(uint64_t id) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%llx", static_cast<unsigned long long>(id));
  return buf;
}

uint64_t id_of(Cluster& cluster, size_t i) {
  auto s = cluster.connect(i).status();
  REQUIRE(s.ok());
  return s.value().header.member_id;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST_CASE("msgpack membership: revkvctl member commands through a follower, move-leader",
          "[cluster][process]") {
  auto bin = testing::etcdctl_or_skip();
  if (bin.empty()) return;
  Cluster cluster(3);
  auto leader = cluster.find_leader(std::chrono::seconds(20));
  REQUIRE(leader);
  const size_t follower = (*leader + 1) % 3;
  const std::string via = cluster.member(follower).endpoint();  // its MessagePack door
  const uint64_t leader_id = id_of(cluster, *leader);
  const uint64_t follower_id = id_of(cluster, follower);
  // The follower forwards once the leader has published where it serves.
  REQUIRE(eventually([&] { return cluster.connect(follower).put(put_of("fwd", "x")).ok(); }));

  {
    INFO("member list equals etcdctl's, and the errors are etcd's");
    auto ours = revkvctl(via, "member list");
    auto theirs = testing::etcdctl(bin, cluster.member(follower).grpc_endpoint(), "member list");
    CAPTURE(ours.out, theirs.out);
    REQUIRE(ours.status == 0);
    REQUIRE(theirs.status == 0);
    CHECK(testing::member_rows(ours.out) == testing::member_rows(theirs.out));
    CHECK(contains(ours.out, "http://" + via));  // its own MessagePack URL
    auto json = revkvctl(via, "member list -w json");
    CHECK(json.status == 0);
    CHECK(contains(json.out, "\"isLearner\"") == false);  // no learners: omitted, as etcd's

    auto unknown = revkvctl(via, "member remove 1234");
    CHECK(unknown.status == 1);
    CHECK(unknown.out == "Error: etcdserver: member not found\n");
    auto voter = revkvctl(via, "member promote " + hex(leader_id));
    CHECK(voter.out == "Error: etcdserver: can only promote a learner member\n");
    auto update =
        revkvctl(via, "member update " + hex(follower_id) + " --peer-urls=http://127.0.0.1:1");
    CHECK(update.status == 1);
    CHECK(contains(update.out, "Error: revkv: member update is not supported"));
    auto duplicate = revkvctl(via, "member add x --peer-urls=" + cluster.peer_url(*leader));
    CHECK(duplicate.out == "Error: etcdserver: Peer URLs already exists\n");
    auto bad_id = revkvctl(via, "member remove zz");
    CHECK(bad_id.status == 128);
    CHECK(contains(bad_id.out,
                   "bad member ID arg (strconv.ParseUint: parsing \"zz\": invalid "
                   "syntax), expecting ID in Hex"));
  }

  {
    INFO("add, start, promote and remove a member through a follower");
    const size_t added = cluster.reserve_member();
    auto add = revkvctl(via, "member add " + cluster.name(added) +
                                 " --learner --peer-urls=" + cluster.peer_url(added));
    CAPTURE(add.out);
    REQUIRE(add.status == 0);
    CHECK(contains(add.out, " added to cluster "));
    CHECK(contains(add.out, "ETCD_NAME=\"" + cluster.name(added) + "\"\n"));
    CHECK(contains(add.out, cluster.name(added) + "=" + cluster.peer_url(added)));
    CHECK(contains(add.out,
                   "ETCD_INITIAL_ADVERTISE_PEER_URLS=\"" + cluster.peer_url(added) + "\"\n"));
    CHECK(contains(add.out, "ETCD_INITIAL_CLUSTER_STATE=\"existing\"\n"));
    // "Member <id> added": the id, as the member list shows it.
    const std::string id = testing::hex_id_of(add.out);
    REQUIRE(!id.empty());
    // The follower lists it once the configuration reached it.
    CHECK(eventually([&] {
      return contains(revkvctl(via, "member list").out,
                      id + ", unstarted, , " + cluster.peer_url(added) + ", , true");
    }));

    cluster.start(added);
    INFO(cluster.log(added));
    REQUIRE(cluster.connect(*leader).put(put_of("mp/1", "one")).ok());
    REQUIRE(eventually(
        [&] {
          auto read = testing::local_read(cluster, added, "mp/1");
          return read && *read == std::optional<std::string>("one");
        },
        std::chrono::seconds(60)));
    auto promoted = revkvctl(via, "member promote " + id);
    CAPTURE(promoted.out);
    CHECK(promoted.status == 0);
    CHECK(contains(promoted.out,
                   "Member " + std::string(16 - id.size(), ' ') + id + " promoted in cluster "));
    auto again = revkvctl(via, "member promote " + id);
    CHECK(again.out == "Error: etcdserver: can only promote a learner member\n");

    auto removed = revkvctl(via, "member remove " + id);
    CAPTURE(removed.out);
    CHECK(removed.status == 0);
    CHECK(contains(removed.out, " removed from cluster "));
    CHECK(cluster.member(added).wait_exit(std::chrono::seconds(30)) >= 0);
    CHECK(eventually([&] { return !contains(revkvctl(via, "member list").out, id + ","); }));
  }

  {
    INFO("move-leader moves leadership; endpoint status --cluster lists every member");
    std::string all;
    for (size_t i = 0; i < 3; ++i)
      all += (all.empty() ? "" : ",") + cluster.member(i).endpoint();
    // Sent to a follower only, it is refused as etcdctl refuses it.
    auto no_leader = revkvctl(via, "move-leader " + hex(leader_id));
    CHECK(no_leader.status == 128);
    CHECK(no_leader.out == "Error: no leader endpoint given at [" + via + "]\n");
    // The leader every member names, once it serves a write (a membership change above may
    // have moved leadership; a leader not ready yet refuses MoveLeader "not leader").
    auto settled = [&]() -> std::optional<size_t> {
      auto l = cluster.find_leader(std::chrono::seconds(10));
      if (!l) return std::nullopt;
      const uint64_t id = id_of(cluster, *l);
      for (size_t i = 0; i < 3; ++i) {
        auto s = cluster.connect(i).status();
        if (!s.ok() || s.value().leader != id) return std::nullopt;
      }
      return l;
    };
    // Every member leads once, so every member has published its client URLs
    // (docs/CLUSTER.md "Forwarding").
    for (size_t k = 0; k < 3; ++k) {
      std::optional<size_t> current;
      REQUIRE(eventually([&] { return (current = settled()).has_value(); }));
      const uint64_t from = id_of(cluster, *current);
      const size_t target = (*current + 1) % 3;
      const uint64_t to = id_of(cluster, target);
      auto moved = revkvctl(all, "move-leader " + hex(to));
      CAPTURE(moved.out);
      REQUIRE(moved.status == 0);
      CHECK(moved.out == "Leadership transferred from " + hex(from) + " to " + hex(to) + "\n");
      CHECK(eventually([&] {
        auto s = cluster.connect(target).status();
        return s.ok() && s.value().leader == to && s.value().header.member_id == to;
      }));
    }
    REQUIRE(eventually([&] { return settled().has_value(); }));
    auto bad = revkvctl(all, "move-leader 1234");
    CHECK(bad.out == "Error: etcdserver: bad leader transferee\n");

    CHECK(eventually([&] {
      auto status = revkvctl(via, "endpoint status --cluster");
      if (status.status != 0) return false;
      for (size_t i = 0; i < 3; ++i)
        if (!contains(status.out, "http://" + cluster.member(i).endpoint() + ", ")) return false;
      return true;
    }));
    auto health = revkvctl(via, "endpoint health --cluster");
    CAPTURE(health.out);
    CHECK(health.status == 0);
    for (size_t i = 0; i < 3; ++i)
      CHECK(contains(health.out, "http://" + cluster.member(i).endpoint() + " is healthy"));
    auto hashes = revkvctl(via, "endpoint hashkv --cluster");
    CHECK(hashes.status == 0);
  }
}

// The test hook REVKV_TEST_FAIL_REMOVAL for every member the test starts (each member's next
// removal fails once its `removal` entry committed); unset when the test ends.
class FailNextRemoval {
 public:
  FailNextRemoval() { ::setenv("REVKV_TEST_FAIL_REMOVAL", "1", 1); }
  ~FailNextRemoval() { ::unsetenv("REVKV_TEST_FAIL_REMOVAL"); }
  FailNextRemoval(const FailNextRemoval&) = delete;
  FailNextRemoval& operator=(const FailNextRemoval&) = delete;
};

// The member ids member i lists.
std::vector<uint64_t> listed_ids(Cluster& cluster, size_t i) {
  std::vector<uint64_t> ids;
  auto list = cluster.connect(i).member_list();
  if (!list.ok()) return ids;
  for (const auto& m : list.value().members)
    ids.push_back(m.id);
  return ids;
}

// A removal whose `removal` entry commits but whose configuration change then fails
// (docs/CLUSTER.md "Membership"; the hook stands for leadership lost in between, which no
// test can time): the client gets the error, the removed member stops (it applied its
// removal), and whoever leads takes it out of the configuration — the next leader when the
// leader removed itself, the same leader on its next round when it removed a follower. A
// retry then answers "member not found", as etcd answers a removal that did finish.
TEST_CASE(
    "msgpack membership: a removal whose configuration change fails is finished by the "
    "leader",
    "[cluster][process][membership]") {
  FailNextRemoval hook;
  Cluster cluster(3);
  auto leader = cluster.find_leader(std::chrono::seconds(20));
  REQUIRE(leader);
  const uint64_t leader_id = id_of(cluster, *leader);

  // The leader removes itself: the error, then it stops (status 0).
  auto failed = cluster.connect(*leader).member_remove(leader_id);
  REQUIRE_FALSE(failed.ok());
  CHECK(failed.error().code == 14);
  CHECK(failed.error().message == "etcdserver: leader changed");
  INFO("the removed leader's log: " << cluster.log(*leader));
  CHECK(cluster.member(*leader).wait_exit(std::chrono::milliseconds(30000)) == 0);
  cluster.stop(*leader, std::chrono::seconds(1));  // already ended: only forgets it

  // The next leader finishes the removal.
  auto next = cluster.find_leader(std::chrono::seconds(30));
  REQUIRE(next);
  INFO("the next leader's log: " << cluster.log(*next));
  CHECK(
      eventually([&] { return listed_ids(cluster, *next).size() == 2; }, std::chrono::seconds(30)));
  auto ids = listed_ids(cluster, *next);
  CHECK(std::find(ids.begin(), ids.end(), leader_id) == ids.end());
  auto retried = cluster.connect(*next).member_remove(leader_id);
  REQUIRE_FALSE(retried.ok());
  CHECK(retried.error().message == "etcdserver: member not found");

  // The next leader removes the last follower: the error, the follower stops, and this
  // leader finishes the change on its own (the one member left commits it).
  size_t follower = 0;
  while (follower == *leader || follower == *next)
    ++follower;
  const uint64_t follower_id = id_of(cluster, follower);
  auto failed_again = cluster.connect(*next).member_remove(follower_id);
  REQUIRE_FALSE(failed_again.ok());
  CHECK(failed_again.error().message == "etcdserver: leader changed");
  INFO("the follower's log: " << cluster.log(follower));
  CHECK(cluster.member(follower).wait_exit(std::chrono::milliseconds(30000)) == 0);
  cluster.stop(follower, std::chrono::seconds(1));
  CHECK(eventually(
      [&] { return listed_ids(cluster, *next) == std::vector<uint64_t>{id_of(cluster, *next)}; },
      std::chrono::seconds(30)));
  // A one-member cluster that serves.
  CHECK(eventually([&] { return cluster.connect(*next).put(put_of("after/removals", "1")).ok(); },
                   std::chrono::seconds(30)));
}

}  // namespace
}  // namespace revkv
