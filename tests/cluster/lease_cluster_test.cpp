// Leases in a 3-member revkvd cluster (docs/CLUSTER.md "State changes"): a grant is a Raft
// entry every member applies, so every member's store holds the same lease records
// (Maintenance.Hash equal), a new leader knows every lease (time-to-live, attaching keys,
// revoking), and only the leader's lessor expires leases — after a leader change with etcd's
// extension of a full TTL.

#include "tests/cluster/revkvd_cluster.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <thread>

using namespace revkv;
using Clock = std::chrono::steady_clock;
using testing::Cluster;
using testing::eventually;
using testing::same_hash;

namespace {

// Whether member i's serializable read of `key` finds it (nullopt: the read failed).
std::optional<bool> has_key(Cluster& cluster, size_t i, const std::string& key) {
  auto read = testing::local_read(cluster, i, key);
  if (!read) return std::nullopt;
  return read->has_value();
}

int64_t grant(client::Client& c, int64_t ttl) {
  protocol::LeaseGrantRequest g;
  g.ttl = ttl;
  auto got = c.lease_grant(g);
  REQUIRE(got.ok());
  return got.value().id;
}

void put(client::Client& c, const std::string& key, int64_t lease) {
  storage::PutRequest p;
  p.key = key;
  p.value = "v";
  p.lease = lease;
  REQUIRE(c.put(p).ok());
}

}  // namespace

TEST_CASE("revkvd cluster: a new leader knows every lease, extends and expires them",
          "[cluster][process][lease]") {
  Cluster cluster(3);
  const size_t old_leader = cluster.require_leader();
  auto c = cluster.connect(old_leader);
  int64_t kept = grant(c, 600);
  int64_t short_lived = grant(c, 4);
  put(c, "held/a", kept);
  put(c, "held/b", short_lived);
  // Every member holds the lease records: the stores hash alike.
  CHECK(eventually([&] { return same_hash(cluster); }));

  cluster.kill9(old_leader);
  auto leader = cluster.find_leader(std::chrono::seconds(20));
  REQUIRE(leader);
  auto n = cluster.connect(*leader);

  // The new leader knows the lease granted by its predecessor, with a full TTL again.
  protocol::LeaseTimeToLiveRequest ask{kept, true};
  auto ttl = n.lease_time_to_live(ask);
  REQUIRE(ttl.ok());
  CHECK(ttl.value().granted_ttl == 600);
  CHECK(ttl.value().ttl > 590);
  CHECK(ttl.value().keys == std::vector<std::string>{"held/a"});
  // ... may attach keys to it and revoke it; the keys leave every member.
  put(n, "held/c", kept);
  REQUIRE(n.lease_revoke({kept}).ok());
  for (size_t i = 0; i < cluster.size(); ++i) {
    if (!cluster.running(i)) continue;
    CAPTURE(i);
    CHECK(eventually([&] { return has_key(cluster, i, "held/a") == false; }));
    CHECK(eventually([&] { return has_key(cluster, i, "held/c") == false; }));
  }
  auto gone = n.lease_time_to_live({kept, false});
  REQUIRE(gone.ok());
  CHECK(gone.value().ttl == -1);

  // The new leader's lessor expires the short lease (TTL 4 s + the 1 s extension after it
  // took over): its key leaves every member.
  for (size_t i = 0; i < cluster.size(); ++i) {
    if (!cluster.running(i)) continue;
    CAPTURE(i);
    CHECK(eventually([&] { return has_key(cluster, i, "held/b") == false; },
                     std::chrono::seconds(30)));
  }

  // The old leader comes back, applies what it missed, and every store hashes alike.
  cluster.start(old_leader);
  CHECK(eventually([&] { return has_key(cluster, old_leader, "held/b") == false; }));
  CHECK(eventually([&] { return same_hash(cluster); }));
  // It knows neither lease any more (a follower answers time-to-live only as the leader).
  auto back = cluster.connect(*leader).lease_time_to_live({short_lived, false});
  REQUIRE(back.ok());
  CHECK(back.value().ttl == -1);
}
