// Lease.* through the actor harness (no TCP): the lessor's grant / keep-alive / time-to-live
// / leases answers, revocation through the coordinator (keys deleted at one revision), the
// errors, and expiry by the lessor's timer.

#include "protocol/codec.hpp"
#include "storage/keyspace_set.hpp"
#include "tests/actors/actor_harness.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

using namespace revkv;
using testing::ActorHarness;

namespace {

constexpr int64_t kTooLarge = 9'000'000'001;

storage::PutRequest put(std::string key, std::string value, int64_t lease = 0) {
  storage::PutRequest p;
  p.key = std::move(key);
  p.value = std::move(value);
  p.lease = lease;
  return p;
}

storage::RangeRequest all_keys() {
  storage::RangeRequest r;
  r.key = std::string(1, '\0');
  r.range_end = std::string(1, '\0');
  return r;
}

std::vector<std::string> keys_of(const storage::RangeResponse& r) {
  std::vector<std::string> out;
  for (const auto& kv : r.kvs)
    out.push_back(kv.key);
  return out;
}

std::vector<int64_t> ids_of(const protocol::LeaseLeasesResponse& r) {
  std::vector<int64_t> out;
  for (const auto& l : r.leases)
    out.push_back(l.id);
  return out;
}

// Keys owned by `n` different shards (shard count `shards`).
std::vector<std::string> keys_on_shards(size_t n, size_t shards) {
  std::vector<std::string> out;
  std::vector<bool> used(shards, false);
  for (int i = 0; out.size() < n; ++i) {
    std::string k = "k" + std::to_string(i);
    size_t s = storage::shard_of(k, shards);
    if (used[s]) continue;
    used[s] = true;
    out.push_back(k);
  }
  std::sort(out.begin(), out.end());
  return out;
}

testing::HarnessOptions fast_checks() {
  testing::HarnessOptions o;
  o.lease_check_interval = std::chrono::milliseconds(100);
  return o;
}

class LeaseHarness : public ActorHarness {
 public:
  LeaseHarness() : LeaseHarness(fast_checks()) {}
  explicit LeaseHarness(testing::HarnessOptions options) : ActorHarness(options) {}

  storage::Result<protocol::LeaseGrantResponse> grant(int64_t id, int64_t ttl) {
    return call<protocol::LeaseGrantResponse>(protocol::LeaseGrantRequest{ttl, id});
  }
  storage::Result<protocol::LeaseRevokeResponse> revoke(int64_t id) {
    return call<protocol::LeaseRevokeResponse>(protocol::LeaseRevokeRequest{id});
  }
  protocol::LeaseKeepAliveResponse keep_alive(int64_t id) {
    auto r = call<protocol::LeaseKeepAliveResponse>(protocol::LeaseKeepAliveRequest{id});
    REQUIRE(r.ok());
    return *r;
  }
  protocol::LeaseTimeToLiveResponse ttl(int64_t id, bool keys = false) {
    auto r = call<protocol::LeaseTimeToLiveResponse>(protocol::LeaseTimeToLiveRequest{id, keys});
    REQUIRE(r.ok());
    return *r;
  }
  std::vector<int64_t> leases() {
    auto r = call<protocol::LeaseLeasesResponse>(protocol::LeaseLeasesRequest{});
    REQUIRE(r.ok());
    return ids_of(*r);
  }
  int64_t revision() { return node().context()->watermark.load(); }
};

}  // namespace

TEST_CASE_METHOD(LeaseHarness, "lease grant: ids, TTL bounds and errors", "[actors][lease]") {
  auto granted = grant(100, 30);
  REQUIRE(granted.ok());
  CHECK(granted->id == 100);
  CHECK(granted->ttl == 30);
  CHECK(granted->header.revision == 1);  // granting takes no revision

  auto again = grant(100, 60);
  REQUIRE_FALSE(again.ok());
  CHECK(again.error().code() == storage::Errc::lease_exists);

  auto huge = grant(101, kTooLarge);
  REQUIRE_FALSE(huge.ok());
  CHECK(huge.error().code() == storage::Errc::lease_ttl_too_large);
  auto largest = grant(101, 9'000'000'000);  // the bound itself is fine
  REQUIRE(largest.ok());
  CHECK(largest->ttl == 9'000'000'000);

  // Below the minimum (2 s), zero and negative TTLs are raised to it.
  auto negative = grant(102, -100);
  REQUIRE(negative.ok());
  CHECK(negative->ttl == 2);
  auto zero = grant(103, 0);
  REQUIRE(zero.ok());
  CHECK(zero->ttl == 2);

  // Explicit ids may be negative; ID 0 lets the node pick a positive unused one.
  auto negative_id = grant(-7, 30);
  REQUIRE(negative_id.ok());
  CHECK(negative_id->id == -7);
  auto picked = grant(0, 30);
  REQUIRE(picked.ok());
  CHECK(picked->id > 0);
  auto picked2 = grant(0, 30);
  REQUIRE(picked2.ok());
  CHECK(picked2->id > 0);
  CHECK(picked2->id != picked->id);
  CHECK(node().context()->leases.size() == 7);
  CHECK(revision() == 1);
}

TEST_CASE_METHOD(LeaseHarness, "keep-alive, time-to-live and the lease list", "[actors][lease]") {
  REQUIRE(grant(1, 300).ok());
  REQUIRE(grant(2, 10).ok());
  REQUIRE(grant(3, 60).ok());
  auto keys = keys_on_shards(2, 3);
  REQUIRE(call<storage::PutResponse>(put(keys[1], "b", 1)).ok());
  REQUIRE(call<storage::PutResponse>(put(keys[0], "a", 1)).ok());
  REQUIRE(call<storage::PutResponse>(put("plain", "x")).ok());

  auto t = ttl(1, true);
  CHECK(t.id == 1);
  CHECK(t.granted_ttl == 300);
  CHECK((t.ttl == 299 || t.ttl == 300));
  CHECK(t.keys == keys);
  CHECK(t.header.revision == 4);
  CHECK(ttl(1).keys.empty());  // only when asked

  auto unknown = ttl(42, true);
  CHECK(unknown.id == 42);
  CHECK(unknown.ttl == -1);
  CHECK(unknown.granted_ttl == 0);
  CHECK(unknown.keys.empty());

  // Ascending remaining time.
  CHECK(leases() == std::vector<int64_t>{2, 3, 1});

  auto kept = keep_alive(2);
  CHECK(kept.id == 2);
  CHECK(kept.ttl == 10);
  CHECK(kept.header.revision == 4);
  // Unknown ids, 0 included, are not an error: TTL 0.
  auto gone = keep_alive(0);
  CHECK(gone.id == 0);
  CHECK(gone.ttl == 0);
  CHECK(keep_alive(12345).ttl == 0);
  CHECK(keep_alive(-1).ttl == 0);
}

TEST_CASE_METHOD(LeaseHarness, "revoke deletes every attached key at one revision",
                 "[actors][lease]") {
  REQUIRE(grant(7, 60).ok());
  auto keys = keys_on_shards(3, 3);
  for (const auto& k : keys)
    REQUIRE(call<storage::PutResponse>(put(k, "v", 7)).ok());
  REQUIRE(call<storage::PutResponse>(put("zz-kept", "v")).ok());
  // A key moved to another lease, or detached, is not deleted with lease 7.
  REQUIRE(grant(8, 60).ok());
  REQUIRE(call<storage::PutResponse>(put("moved", "v", 7)).ok());
  REQUIRE(call<storage::PutResponse>(put("moved", "v", 8)).ok());
  REQUIRE(call<storage::PutResponse>(put("detached", "v", 7)).ok());
  REQUIRE(call<storage::PutResponse>(put("detached", "v")).ok());
  int64_t before = revision();

  auto revoked = revoke(7);
  REQUIRE(revoked.ok());
  CHECK(revoked->header.revision == before + 1);
  auto left = call<storage::RangeResponse>(all_keys());
  REQUIRE(left.ok());
  CHECK(keys_of(*left) == std::vector<std::string>{"detached", "moved", "zz-kept"});
  CHECK(left->revision == before + 1);
  CHECK(ttl(7).ttl == -1);
  CHECK_FALSE(node().context()->leases.exists(7));

  // Gone: a second revoke, and a put naming it, fail with lease not found.
  auto twice = revoke(7);
  REQUIRE_FALSE(twice.ok());
  CHECK(twice.error().code() == storage::Errc::lease_not_found);
  auto put_after = call<storage::PutResponse>(put("late", "v", 7));
  REQUIRE_FALSE(put_after.ok());
  CHECK(put_after.error().code() == storage::Errc::lease_not_found);
  auto zero = revoke(0);
  REQUIRE_FALSE(zero.ok());
  CHECK(zero.error().code() == storage::Errc::lease_not_found);

  // No key attached: the revision does not change.
  REQUIRE(grant(9, 60).ok());
  auto empty = revoke(9);
  REQUIRE(empty.ok());
  CHECK(empty->header.revision == before + 1);
  CHECK(revision() == before + 1);
  CHECK(leases() == std::vector<int64_t>{8});
  // Lease 8 takes "moved" with it.
  auto last = revoke(8);
  REQUIRE(last.ok());
  CHECK(last->header.revision == before + 2);
  CHECK(node().context()->leases.size() == 0);
}

TEST_CASE_METHOD(LeaseHarness, "lease requests as msgpack bytes", "[actors][lease][bytes]") {
  auto grant_bytes =
      call_bytes("Lease.LeaseGrant", protocol::encode_to_string(protocol::LeaseGrantRequest{5, 9}));
  REQUIRE(grant_bytes.ok());
  auto revoke_unknown =
      call_bytes("Lease.LeaseRevoke", protocol::encode_to_string(protocol::LeaseRevokeRequest{10}));
  REQUIRE_FALSE(revoke_unknown.ok());
  CHECK(revoke_unknown.error() == protocol::to_wire_error(storage::Errc::lease_not_found));
  CHECK(revoke_unknown.error().code == 5);
  auto too_large = call_bytes(
      "Lease.LeaseGrant", protocol::encode_to_string(protocol::LeaseGrantRequest{kTooLarge, 0}));
  REQUIRE_FALSE(too_large.ok());
  CHECK(too_large.error().code == 11);
  auto exists =
      call_bytes("Lease.LeaseGrant", protocol::encode_to_string(protocol::LeaseGrantRequest{5, 9}));
  REQUIRE_FALSE(exists.ok());
  CHECK(exists.error().code == 9);
  CHECK(call_bytes("Lease.LeaseLeases", "").ok());
}

TEST_CASE_METHOD(LeaseHarness, "an expired lease is revoked with its keys", "[actors][lease]") {
  auto granted = grant(11, 1);  // raised to 2 s
  REQUIRE(granted.ok());
  REQUIRE(granted->ttl == 2);
  REQUIRE(grant(12, 300).ok());
  REQUIRE(call<storage::PutResponse>(put("a", "1", 11)).ok());
  REQUIRE(call<storage::PutResponse>(put("b", "2", 11)).ok());
  REQUIRE(call<storage::PutResponse>(put("c", "3", 12)).ok());
  int64_t before = revision();

  // Until revoked it still exists for puts.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(8);
  while (ttl(11).ttl != -1 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  CHECK(ttl(11).ttl == -1);
  auto left = call<storage::RangeResponse>(all_keys());
  REQUIRE(left.ok());
  CHECK(keys_of(*left) == std::vector<std::string>{"c"});
  CHECK(revision() == before + 1);  // both keys at one revision
  CHECK(node().context()->lease_expired_total.load() == 1);
  CHECK(leases() == std::vector<int64_t>{12});
  // The keep-alive of a revoked lease reports it gone.
  CHECK(keep_alive(11).ttl == 0);
}

TEST_CASE_METHOD(LeaseHarness, "keep-alive keeps a lease past its TTL", "[actors][lease]") {
  REQUIRE(grant(21, 2).ok());
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(3500);
  while (std::chrono::steady_clock::now() < until) {
    CHECK(keep_alive(21).ttl == 2);
    std::this_thread::sleep_for(std::chrono::milliseconds(400));
  }
  CHECK(ttl(21).granted_ttl == 2);
  CHECK(node().context()->lease_expired_total.load() == 0);
}

namespace {

// The expiry check never runs during the test: only a keep-alive can notice the expiry.
class NoExpiryChecks : public LeaseHarness {
 public:
  NoExpiryChecks() : LeaseHarness(options()) {}
  static testing::HarnessOptions options() {
    testing::HarnessOptions o;
    o.lease_check_interval = std::chrono::minutes(10);
    return o;
  }
};

// Four expiry revocations per second at most.
class SlowRevocations : public LeaseHarness {
 public:
  SlowRevocations() : LeaseHarness(options()) {}
  static testing::HarnessOptions options() {
    auto o = fast_checks();
    o.lease_revoke_rate = 4;
    return o;
  }
};

}  // namespace

TEST_CASE_METHOD(NoExpiryChecks, "a keep-alive on an expired lease revokes it first",
                 "[actors][lease]") {
  REQUIRE(grant(31, 2).ok());
  REQUIRE(call<storage::PutResponse>(put("x", "1", 31)).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));
  CHECK(ttl(31).ttl == 0);  // expired, not revoked yet: still there, no time left
  CHECK(call<storage::PutResponse>(put("y", "1", 31)).ok());  // and still usable by puts
  int64_t before = revision();
  auto kept = keep_alive(31);
  CHECK(kept.ttl == 0);
  CHECK(kept.header.revision == before);  // filled before the revocation
  CHECK(ttl(31).ttl == -1);
  auto left = call<storage::RangeResponse>(all_keys());
  REQUIRE(left.ok());
  CHECK(left->kvs.empty());
  CHECK(revision() == before + 1);
  CHECK(node().context()->lease_expired_total.load() == 1);
}

TEST_CASE_METHOD(SlowRevocations, "expiry revocations are rate limited", "[actors][lease]") {
  constexpr int kLeases = 8;
  for (int i = 1; i <= kLeases; ++i)
    REQUIRE(grant(i, 2).ok());
  auto& expired = node().context()->lease_expired_total;
  auto start = std::chrono::steady_clock::now();
  while (expired.load() == 0 && std::chrono::steady_clock::now() - start < std::chrono::seconds(5))
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  auto first = std::chrono::steady_clock::now();
  REQUIRE(expired.load() >= 1);
  // 4/s: the other seven take about 1.75 s more.
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  CHECK(expired.load() <= 5);
  while (expired.load() < kLeases &&
         std::chrono::steady_clock::now() - first < std::chrono::seconds(8))
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  auto took = std::chrono::steady_clock::now() - first;
  CHECK(expired.load() == kLeases);
  CHECK(took >= std::chrono::milliseconds(1400));
  CHECK(leases().empty());
}

TEST_CASE_METHOD(LeaseHarness, "a keep-alive moves its lease in the list", "[actors][lease]") {
  REQUIRE(grant(2, 5).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  REQUIRE(grant(1, 5).ok());
  CHECK(leases() == std::vector<int64_t>{2, 1});
  CHECK(keep_alive(2).ttl == 5);
  CHECK(leases() == std::vector<int64_t>{1, 2});
  REQUIRE(revoke(1).ok());
  CHECK(leases() == std::vector<int64_t>{2});
}
