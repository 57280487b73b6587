// Lease.* through the actor harness (no TCP): the lessor's grant / keep-alive / time-to-live
// / leases answers, revocation through the coordinator (keys deleted at one revision), the
// errors, expiry, its rate limit and the restart extension.
//
// Lease time is a util::ManualClock: it moves only when a test advances it, and no expiry
// check runs unless the test asks for one (check()), which answers once the revocations it
// started are done. So no test waits for real time to pass, and every assertion about lease
// time is exact.

#include "actors/messages.hpp"
#include "protocol/codec.hpp"
#include "storage/keyspace_set.hpp"
#include "tests/actors/actor_harness.hpp"
#include "util/clock.hpp"

#include <caf/all.hpp>
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

using namespace revkv;
using namespace std::chrono_literals;
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

testing::HarnessOptions with_clock(testing::HarnessOptions o, util::ClockPtr clock) {
  o.clock = std::move(clock);
  return o;
}

class LeaseHarness : public ActorHarness {
 public:
  LeaseHarness() : LeaseHarness(testing::HarnessOptions{}) {}
  explicit LeaseHarness(testing::HarnessOptions options)
      : LeaseHarness(std::make_shared<util::ManualClock>(), options) {}

  // Lease time passes.
  void advance(util::Clock::duration d) { clock_->advance(d); }
  // One expiry check of the lessor, as its timer would run it: the number of leases it
  // revoked, once their revocations are done (keys deleted, answered at the watermark).
  int64_t check() {
    std::optional<int64_t> revoked;
    caf::error error;
    self_->request(node().routes().lessor, std::chrono::seconds(10), actors::expire_atom::value)
        .receive([&](int64_t n) { revoked = n; }, [&](caf::error& e) { error = std::move(e); });
    if (!revoked) FAIL("no answer to the expiry check: " << system().render(error));
    return *revoked;
  }

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
  int64_t expired_total() { return node().context()->lease_expired_total.load(); }

 private:
  LeaseHarness(std::shared_ptr<util::ManualClock> clock, testing::HarnessOptions options)
      : ActorHarness(with_clock(options, clock)), clock_(std::move(clock)), self_(system(), true) {}

  std::shared_ptr<util::ManualClock> clock_;
  caf::scoped_actor self_;
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
  CHECK(t.ttl == 300);
  CHECK(t.keys == keys);
  CHECK(t.header.revision == 4);
  CHECK(ttl(1).keys.empty());  // only when asked

  auto unknown = ttl(42, true);
  CHECK(unknown.id == 42);
  CHECK(unknown.ttl == -1);
  CHECK(unknown.granted_ttl == 0);
  CHECK(unknown.keys.empty());

  // Remaining whole seconds, truncated.
  advance(1500ms);
  CHECK(ttl(1).ttl == 298);
  CHECK(ttl(2).ttl == 8);
  CHECK(ttl(2).granted_ttl == 10);

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

  // 1 ms short of the (raised) TTL: the check leaves it alone.
  advance(1999ms);
  CHECK(check() == 0);
  CHECK(ttl(11).ttl == 0);  // less than a second left
  CHECK(ttl(11).granted_ttl == 2);
  CHECK(revision() == before);

  advance(1ms);
  CHECK(check() == 1);
  CHECK(ttl(11).ttl == -1);
  auto left = call<storage::RangeResponse>(all_keys());
  REQUIRE(left.ok());
  CHECK(keys_of(*left) == std::vector<std::string>{"c"});
  CHECK(revision() == before + 1);  // both keys at one revision
  CHECK(expired_total() == 1);
  CHECK(leases() == std::vector<int64_t>{12});
  CHECK_FALSE(node().context()->leases.exists(11));
  // The keep-alive of a revoked lease reports it gone; nothing is left to expire.
  CHECK(keep_alive(11).ttl == 0);
  CHECK(check() == 0);
}

TEST_CASE_METHOD(LeaseHarness, "keep-alive keeps a lease past its TTL", "[actors][lease]") {
  REQUIRE(grant(21, 2).ok());
  // 3.6 s with a keep-alive every 400 ms and a check before each.
  for (int i = 0; i < 9; ++i) {
    advance(400ms);
    CHECK(check() == 0);
    CHECK(keep_alive(21).ttl == 2);
  }
  CHECK(ttl(21).ttl == 2);
  CHECK(ttl(21).granted_ttl == 2);
  CHECK(expired_total() == 0);

  // Without them it expires a TTL after the last one.
  advance(1999ms);
  CHECK(check() == 0);
  advance(1ms);
  CHECK(check() == 1);
  CHECK(ttl(21).ttl == -1);
  CHECK(expired_total() == 1);
}

TEST_CASE_METHOD(LeaseHarness, "a keep-alive on an expired lease revokes it first",
                 "[actors][lease]") {
  REQUIRE(grant(31, 2).ok());
  REQUIRE(call<storage::PutResponse>(put("x", "1", 31)).ok());
  // No check runs: only the keep-alive can notice the expiry.
  advance(2100ms);
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
  CHECK(expired_total() == 1);
  CHECK(check() == 0);  // nothing left for the check
}

namespace {

// Four expiry revocations per second at most, checked every 100 ms: 0.4 per check.
class SlowRevocations : public LeaseHarness {
 public:
  SlowRevocations() : LeaseHarness(options()) {}
  static testing::HarnessOptions options() {
    testing::HarnessOptions o;
    o.lease_check_interval = 100ms;
    o.lease_revoke_rate = 4;
    return o;
  }
};

// 20 per second, checked every 100 ms: 2 per check.
class TwoPerCheck : public LeaseHarness {
 public:
  TwoPerCheck() : LeaseHarness(options()) {}
  static testing::HarnessOptions options() {
    testing::HarnessOptions o;
    o.lease_check_interval = 100ms;
    o.lease_revoke_rate = 20;
    return o;
  }
};

// Lease ids granted in this order, 10 ms apart: their expiry order.
const std::vector<int64_t> kExpiryOrder{5, 3, 8, 1, 7, 2, 6, 4};

}  // namespace

TEST_CASE_METHOD(TwoPerCheck, "expired leases are revoked soonest first, as many as allowed",
                 "[actors][lease]") {
  for (int64_t id : kExpiryOrder) {
    REQUIRE(grant(id, 2).ok());
    advance(10ms);
  }
  CHECK(leases() == kExpiryOrder);
  advance(2s);  // every one has expired
  auto left = kExpiryOrder;
  while (!left.empty()) {
    CHECK(check() == 2);
    left.erase(left.begin(), left.begin() + 2);
    CHECK(leases() == left);
  }
  CHECK(expired_total() == 8);
  CHECK(check() == 0);
}

TEST_CASE_METHOD(SlowRevocations, "expiry revocations are rate limited", "[actors][lease]") {
  for (int64_t id : kExpiryOrder) {
    REQUIRE(grant(id, 2).ok());
    advance(10ms);
  }
  advance(2s);
  // Each check earns 0.4 revocations and allows at most one (one check's worth, at least
  // one): over k checks (k × 100 ms) at most 4/s × k × 0.1 s.
  std::vector<int64_t> revoked;
  int checks = 0;
  while (revoked.size() < kExpiryOrder.size() && checks < 40) {
    auto before = leases();
    int64_t n = check();
    ++checks;
    CHECK(n <= 1);
    CHECK(static_cast<double>(expired_total()) <= 0.4 * checks + 1e-9);
    auto after = leases();
    for (int64_t id : before)
      if (std::find(after.begin(), after.end(), id) == after.end()) revoked.push_back(id);
    CHECK(static_cast<int64_t>(revoked.size()) == expired_total());
  }
  CHECK(revoked == kExpiryOrder);  // soonest first
  CHECK(checks >= 20);
  CHECK(leases().empty());
}

TEST_CASE_METHOD(LeaseHarness, "a keep-alive moves its lease in the list", "[actors][lease]") {
  REQUIRE(grant(2, 5).ok());
  advance(300ms);
  REQUIRE(grant(1, 5).ok());
  CHECK(leases() == std::vector<int64_t>{2, 1});
  CHECK(keep_alive(2).ttl == 5);
  CHECK(leases() == std::vector<int64_t>{1, 2});
  REQUIRE(revoke(1).ok());
  CHECK(leases() == std::vector<int64_t>{2});
}

TEST_CASE_METHOD(LeaseHarness, "a restart gives every lease its TTL again plus one second",
                 "[actors][lease][restart]") {
  REQUIRE(grant(41, 10).ok());
  REQUIRE(call<storage::PutResponse>(put("held", "v", 41)).ok());
  advance(9s);
  CHECK(ttl(41).ttl == 1);
  restart();
  // The time before the restart is forgotten: expiry = restart + 1 s + 10 s.
  CHECK(ttl(41).ttl == 11);
  CHECK(ttl(41).granted_ttl == 10);
  advance(10999ms);
  CHECK(check() == 0);
  CHECK(ttl(41).ttl == 0);
  advance(1ms);
  CHECK(check() == 1);
  CHECK(ttl(41).ttl == -1);
  auto left = call<storage::RangeResponse>(all_keys());
  REQUIRE(left.ok());
  CHECK(left->kvs.empty());
}
