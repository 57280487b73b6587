// Membership changes on revkvd processes (docs/CLUSTER.md "Membership"): etcdctl 3.4's
// `member add` grows a running cluster, the new member joins with
// --initial-cluster-state existing, gets every key and becomes a voter; the errors etcd gives;
// a removed member stops.

#include "tests/cluster/member_commands.hpp"
#include "tests/cluster/revkvd_cluster.hpp"
#include "tests/etcdapi/etcdctl_run.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <csignal>
#include <map>
#include <sstream>
#include <sys/types.h>

namespace revkv {
namespace {

using testing::Cluster;
using testing::eventually;
using testing::hex_id_of;
using testing::members_seen;
using testing::put_of;

// A serializable read of `key` on member i (its own applied state).
std::optional<std::string> local_value(Cluster& cluster, size_t i, const std::string& key) {
  auto read = testing::local_read(cluster, i, key);
  return read ? *read : std::nullopt;
}

// A learner added through `endpoint` (etcdctl member add --learner) and started; once it
// holds `key` written through the leader. Its index in the cluster and its id (hex).
std::pair<size_t, std::string> add_started_learner(Cluster& cluster, const std::string& bin,
                                                   const std::string& endpoint, size_t leader,
                                                   const std::string& key) {
  const size_t learner = cluster.reserve_member();
  auto add = testing::etcdctl(bin, endpoint,
                              "member add " + cluster.name(learner) +
                                  " --learner --peer-urls=" + cluster.peer_url(learner));
  CAPTURE(add.out);
  REQUIRE(add.status == 0);
  const std::string id = hex_id_of(add.out);
  cluster.start(learner);
  INFO(cluster.log(learner));
  REQUIRE(cluster.connect(leader).put(put_of(key, "one")).ok());
  REQUIRE(eventually([&] { return local_value(cluster, learner, key) == "one"; },
                     std::chrono::seconds(60)));
  return {learner, id};
}

TEST_CASE("membership: etcdctl member add grows a cluster and the new member catches up",
          "[cluster][process]") {
  auto bin = testing::etcdctl_or_skip();
  if (bin.empty()) return;
  Cluster cluster(3);
  const size_t leader = cluster.require_leader();
  auto lc = cluster.connect(leader);
  for (int i = 0; i < 30; ++i)
    REQUIRE(lc.put(put_of("m/" + std::to_string(i), "v" + std::to_string(i))).ok());

  const size_t added = cluster.reserve_member();
  const std::string at = cluster.member(leader).grpc_endpoint();
  auto add = testing::etcdctl_member_add(bin, at, cluster, added);
  CAPTURE(add.out);
  REQUIRE(add.status == 0);
  CHECK(add.out.find("added to cluster") != std::string::npos);
  CHECK(add.out.find("ETCD_INITIAL_CLUSTER_STATE=\"existing\"") != std::string::npos);
  const std::string id = hex_id_of(add.out);
  REQUIRE(!id.empty());

  // The same peer URL again: etcd's refusal.
  auto again = testing::etcdctl(bin, at, "member add x --peer-urls=" + cluster.peer_url(added));
  CAPTURE(again.out);
  CHECK(again.status != 0);
  CHECK(again.out.find("Peer URLs already exists") != std::string::npos);

  cluster.start(added);
  INFO(cluster.log(added));
  // Every earlier key, then a new write.
  CHECK(eventually([&] { return local_value(cluster, added, "m/29") == "v29"; },
                   std::chrono::seconds(60)));
  for (int i = 0; i < 30; ++i)
    CHECK(local_value(cluster, added, "m/" + std::to_string(i)) == "v" + std::to_string(i));
  REQUIRE(lc.put(put_of("m/after", "yes")).ok());
  CHECK(eventually([&] { return local_value(cluster, added, "m/after") == "yes"; }));

  // Promoted to voter once caught up; the same list on every member.
  auto first = [&] { return members_seen(bin, cluster.member(0).grpc_endpoint()); };
  CHECK(eventually(
      [&] {
        auto list = first();
        return list.find(testing::member_row(id, cluster.name(added), cluster.peer_url(added),
                                             false)) != std::string::npos;
      },
      std::chrono::seconds(60)));
  CAPTURE(first());
  CHECK(eventually([&] {
    auto expected = first();
    for (size_t i = 1; i < cluster.size(); ++i)
      if (members_seen(bin, cluster.member(i).grpc_endpoint()) != expected) return false;
    return true;
  }));
  // Four voters: the cluster still writes with one of the old members stopped.
  size_t other = (leader + 1) % 3;
  cluster.stop(other, std::chrono::seconds(20));
  auto now = cluster.find_leader(std::chrono::seconds(30));
  REQUIRE(now);
  CHECK(cluster.connect(*now).put(put_of("m/three-of-four", "ok")).ok());
  CHECK(eventually([&] { return local_value(cluster, added, "m/three-of-four") == "ok"; }));
}

TEST_CASE("membership: errors then a learner promoted then a removed member stops",
          "[cluster][process]") {
  auto bin = testing::etcdctl_or_skip();
  if (bin.empty()) return;
  Cluster cluster(3);
  auto leader = cluster.find_leader(std::chrono::seconds(20));
  REQUIRE(leader);
  const std::string at = cluster.member(*leader).grpc_endpoint();
  auto ctl = [&](const std::string& args) { return testing::etcdctl(bin, at, args); };

  auto unknown = ctl("member remove 1234");
  CAPTURE(unknown.out);
  CHECK(unknown.status != 0);
  CHECK(unknown.out.find("etcdserver: member not found") != std::string::npos);

  // Promoting a voter.
  auto status = cluster.connect(*leader).status();
  REQUIRE(status.ok());
  std::ostringstream self;
  self << std::hex << status.value().header.member_id;
  auto voter = ctl("member promote " + self.str());
  CAPTURE(voter.out);
  CHECK(voter.status != 0);
  CHECK(voter.out.find("etcdserver: can only promote a learner member") != std::string::npos);

  // A learner: added, started, it receives writes, then promoted.
  auto [learner, id] = add_started_learner(cluster, bin, at, *leader, "l/1");
  // Listed with its name once it published it (through the leader: it never led).
  CHECK(eventually([&] {
    return members_seen(bin, at).find(testing::member_row(
               id, cluster.name(learner), cluster.peer_url(learner), true)) != std::string::npos;
  }));
  auto promoted = ctl("member promote " + id);
  CAPTURE(promoted.out);
  CHECK(promoted.status == 0);
  CHECK(members_seen(bin, at).find(testing::member_row(
            id, cluster.name(learner), cluster.peer_url(learner), false)) != std::string::npos);

  // A follower removed: the others go on, the removed one stops by itself.
  size_t follower = (*leader + 1) % 3;
  auto fs = cluster.connect(follower).status();
  REQUIRE(fs.ok());
  std::ostringstream fid;
  fid << std::hex << fs.value().header.member_id;
  auto removed = ctl("member remove " + fid.str());
  CAPTURE(removed.out);
  INFO("the leader's log: " << cluster.log(*leader));
  CHECK(removed.status == 0);
  CHECK(members_seen(bin, at).find(fid.str() + ",") == std::string::npos);
  REQUIRE(cluster.connect(*leader).put(put_of("l/2", "two")).ok());
  CHECK(eventually([&] { return local_value(cluster, learner, "l/2") == "two"; }));
  INFO(cluster.log(follower));
  CHECK(cluster.member(follower).wait_exit(std::chrono::seconds(30)) >= 0);
}

// SIGSTOP until the end of the scope (SIGCONT), so no member is left stopped.
class Frozen {
 public:
  explicit Frozen(pid_t pid) : pid_(pid) { ::kill(pid_, SIGSTOP); }
  ~Frozen() { ::kill(pid_, SIGCONT); }
  Frozen(const Frozen&) = delete;
  Frozen& operator=(const Frozen&) = delete;

 private:
  pid_t pid_;
};

TEST_CASE("membership: a learner does not count for the quorum until it is promoted",
          "[cluster][process]") {
  auto bin = testing::etcdctl_or_skip();
  if (bin.empty()) return;
  Cluster cluster(2);
  // A frozen member must not hold up find_leader and the probes.
  client::ClientOptions bounded;
  bounded.request_timeout = std::chrono::seconds(3);
  cluster.set_client_options(bounded);
  auto leader = cluster.find_leader(std::chrono::seconds(20));
  REQUIRE(leader);
  const size_t voter = 1 - *leader;
  auto [learner, id] =
      add_started_learner(cluster, bin, cluster.member(*leader).grpc_endpoint(), *leader, "q/1");

  {
    // The leader and the learner: one voter of two, no majority; the write is not
    // acknowledged (the leader steps down, or the request times out).
    Frozen frozen(cluster.member(voter).pid());
    client::ClientOptions options;
    options.request_timeout = std::chrono::seconds(10);
    auto c = client::Client::connect(cluster.member(*leader).endpoint(), options);
    REQUIRE(c.ok());
    CHECK_FALSE(c.value().put(put_of("q/alone", "no")).ok());
  }

  auto now = cluster.find_leader(std::chrono::seconds(30));
  REQUIRE(now);
  CHECK(eventually([&] {
    auto leading = cluster.find_leader(std::chrono::seconds(10));
    return leading &&
           testing::etcdctl(bin, cluster.member(*leading).grpc_endpoint(), "member promote " + id)
                   .status == 0;
  }));
  // Member a (a follower, maybe) lists it as a voter once the configuration reached it.
  CHECK(eventually([&] {
    return members_seen(bin, cluster.member(0).grpc_endpoint())
               .find(testing::member_row(id, cluster.name(learner), cluster.peer_url(learner),
                                         false)) != std::string::npos;
  }));

  // Three voters now: any one of them frozen, the other two (the promoted one among them
  // unless it is frozen) make a majority.
  now = cluster.find_leader(std::chrono::seconds(30));
  REQUIRE(now);
  size_t frozen_one = *now == 0 ? 1 : 0;
  {
    Frozen frozen(cluster.member(frozen_one).pid());
    CHECK(eventually(
        [&] {
          auto leading = cluster.find_leader(std::chrono::seconds(5));
          return leading && cluster.connect(*leading).put(put_of("q/majority", "yes")).ok();
        },
        std::chrono::seconds(60)));
    CHECK(eventually([&] { return local_value(cluster, learner, "q/majority") == "yes"; }));
  }
}

}  // namespace
}  // namespace revkv
