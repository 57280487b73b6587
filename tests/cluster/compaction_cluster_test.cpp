// Compaction in a 3-member revkvd cluster (docs/CLUSTER.md "State changes"): the leader's
// compaction is a Raft entry every member applies and runs, so history below it is gone on
// every member, HashKV and Maintenance.Hash agree everywhere afterwards, and a restarted
// member keeps it.

#include "tests/cluster/revkvd_cluster.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <optional>
#include <string>

using namespace revkv;
using testing::Cluster;
using testing::eventually;
using testing::same_hash;

namespace {

// Member i's serializable read of everything at `revision` fails as compacted.
bool compacted_at(Cluster& cluster, size_t i, int64_t revision) {
  auto c = client::Client::connect(cluster.member(i).endpoint());
  if (!c.ok()) return false;
  storage::RangeRequest r;
  r.key = "k";
  r.revision = revision;
  r.serializable = true;
  auto got = c.value().range(r);
  return !got.ok() &&
         got.error().message == "etcdserver: mvcc: required revision has been compacted";
}

// Every running member's HashKV at `revision` answers, all alike (hash and compact revision).
bool same_hash_kv(Cluster& cluster, int64_t revision) {
  std::optional<std::pair<uint32_t, int64_t>> first;
  for (size_t i = 0; i < cluster.size(); ++i) {
    if (!cluster.running(i)) continue;
    auto c = client::Client::connect(cluster.member(i).endpoint());
    if (!c.ok()) return false;
    protocol::HashKVRequest h;
    h.revision = revision;
    auto got = c.value().hash_kv(h);
    if (!got.ok()) return false;
    std::pair<uint32_t, int64_t> mine{got.value().hash, got.value().compact_revision};
    if (!first) first = mine;
    if (*first != mine) return false;
  }
  return true;
}

}  // namespace

TEST_CASE("revkvd cluster: a compaction on the leader compacts every member alike",
          "[cluster][process][compaction]") {
  Cluster cluster(3);
  const size_t leader = cluster.require_leader();
  size_t follower = (leader + 1) % cluster.size();
  auto c = cluster.connect(leader);
  int64_t last = 0;
  for (int n = 0; n < 60; ++n) {
    storage::PutRequest p;
    p.key = "k" + std::to_string(n % 7);
    p.value = "v" + std::to_string(n);
    auto put = c.put(p);
    REQUIRE(put.ok());
    last = put.value().response.revision;
  }
  int64_t at = last - 20;
  for (size_t i = 0; i < cluster.size(); ++i)
    REQUIRE(cluster.wait_revision(i, last, std::chrono::seconds(20)));

  // Asked of a follower, which forwards it to the leader (docs/CLUSTER.md "Forwarding").
  auto compacted = cluster.connect(follower).compact({at, true});
  INFO((compacted.ok() ? std::string() : compacted.error().message + "\n" + cluster.log(leader)));
  REQUIRE(compacted.ok());
  for (size_t i = 0; i < cluster.size(); ++i) {
    CAPTURE(i);
    CHECK(eventually([&] { return compacted_at(cluster, i, at - 1); }));
  }
  // Every member computed the compaction's HashKV alike (etcd's: with the previous compact
  // revision), and the one of the newest revision;
  // once every physical removal is done the whole stores hash alike too.
  CHECK(eventually([&] { return same_hash_kv(cluster, at); }));
  CHECK(eventually([&] { return same_hash_kv(cluster, last); }));
  CHECK(eventually([&] { return same_hash(cluster); }));
  // Compacting again at or below it is refused by the leader.
  auto again = c.compact({at, false});
  REQUIRE_FALSE(again.ok());
  CHECK(again.error().message == "etcdserver: mvcc: required revision has been compacted");

  // A restarted follower keeps the compaction.
  REQUIRE(cluster.stop(follower, std::chrono::seconds(20)) == 0);
  cluster.start(follower);
  CHECK(eventually([&] { return compacted_at(cluster, follower, at - 1); }));
  CHECK(eventually([&] { return same_hash(cluster); }));
}
