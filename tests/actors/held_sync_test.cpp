// What a held fsync may and may not hold up (issue 12, items 2.3 and 2.5), on a node of the
// actor harness with --sync always whose backend's fsyncs pass a gate (tests/actors/
// sync_gate.hpp). While the gate holds a commit:
//   - a lease revoke with no key and a NOSPACE alarm raised by the quota wait for the backend
//     actor's fsync, never sync on a scheduler thread, and other requests are still served;
//   - LeaseTimeToLive lists only the keys whose attaching put is durable, as a read would.
//   - a lease grant is synced by the backend actor too, and the lessor answers meanwhile.
// Each test waits on conditions with deadlines; none relies on timing.

#include "actors/messages.hpp"
#include "actors/node_context.hpp"
#include "tests/actors/actor_harness.hpp"
#include "tests/actors/harness_door.hpp"
#include "tests/actors/sync_gate.hpp"

#include <caf/all.hpp>
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

using namespace revkv;
using testing::ActorHarness;
using testing::OpenOnExit;
using testing::SyncGate;

namespace {

const std::vector<std::string> kBackendOnly = {"revkv.backend"};

// One request through a door of its own, on a thread of its own: its answer comes when the
// node gives it, while the test goes on.
class BackgroundCall {
 public:
  BackgroundCall(ActorHarness& harness, actors::Request request)
      : thread_([this, &harness, request = std::move(request)]() mutable {
          caf::scoped_actor self{harness.system()};
          auto door = testing::spawn_harness_door(harness.system(), harness.node().context(),
                                                  harness.node().routes(), caf::actor{self});
          self->request(door, std::chrono::seconds(60), testing::harness_call_atom::value,
                        std::move(request))
              .receive([&](actors::Answer& a) { answer_ = std::move(a); }, [&](caf::error&) {});
          caf::anon_send_exit(door, caf::exit_reason::user_shutdown);
          done_ = true;
        }) {}

  bool done() const { return done_.load(); }
  // Waits for the answer (none if the call failed).
  std::optional<actors::Answer> answer() {
    if (thread_.joinable()) thread_.join();
    return answer_;
  }

 private:
  std::optional<actors::Answer> answer_;
  std::atomic<bool> done_{false};
  std::jthread thread_;  // last: starts once the rest is built
};

struct HeldSyncHarness : ActorHarness {
  explicit HeldSyncHarness(std::shared_ptr<SyncGate> gate, int64_t quota = 2ll << 30)
      : ActorHarness(options(gate, quota)), gate(std::move(gate)) {}

  static testing::HarnessOptions options(const std::shared_ptr<SyncGate>& gate, int64_t quota) {
    testing::HarnessOptions o;
    o.sync = actors::SyncMode::always;
    o.quota_backend_bytes = quota;
    o.backend_hooks = SyncGate::hooks(gate);
    return o;
  }

  storage::PutRequest put(std::string key, int64_t lease = 0) {
    storage::PutRequest p;
    p.key = std::move(key);
    p.value = "v";
    p.lease = lease;
    return p;
  }
  // A read that needs nothing but a shard.
  void read_is_served() {
    storage::RangeRequest r;
    r.key = "plain";
    auto got = call<storage::RangeResponse>(r);
    REQUIRE(got.ok());
  }
  std::vector<std::string> lease_keys(int64_t id) {
    auto t = call<protocol::LeaseTimeToLiveResponse>(protocol::LeaseTimeToLiveRequest{id, true});
    REQUIRE(t.ok());
    return t->keys;
  }

  std::shared_ptr<SyncGate> gate;
};

}  // namespace

TEST_CASE(
    "a lease revoke with no key syncs on the backend actor, not inside the "
    "coordinator's pause",
    "[actors][lease][fsync]") {
  HeldSyncHarness h(std::make_shared<SyncGate>());
  REQUIRE(h.call<protocol::LeaseGrantResponse>(protocol::LeaseGrantRequest{60, 5}).ok());
  REQUIRE(h.call<storage::PutResponse>(h.put("plain")).ok());
  h.gate->take_threads();

  h.gate->close();
  BackgroundCall revoke(h, actors::Request{protocol::LeaseRevokeRequest{5}});
  OpenOnExit opener(h.gate);  // destroyed first: the revoke can finish
  REQUIRE(h.gate->wait_held());
  // The revoke's fsync is held; the shards are not paused behind it.
  h.read_is_served();
  CHECK_FALSE(revoke.done());  // answered only once the record's removal is durable
  h.gate->open();
  auto answer = revoke.answer();
  REQUIRE(answer);
  CHECK(std::holds_alternative<actors::Response>(*answer));
  CHECK(h.gate->take_threads() == kBackendOnly);
  CHECK_FALSE(h.node().context()->leases.exists(5));
}

TEST_CASE(
    "a put refused for a lease whose revocation is not yet durable waits for the "
    "revocation",
    "[actors][lease][fsync]") {
  HeldSyncHarness h(std::make_shared<SyncGate>());
  REQUIRE(h.call<protocol::LeaseGrantResponse>(protocol::LeaseGrantRequest{60, 5}).ok());
  REQUIRE(h.call<storage::PutResponse>(h.put("plain")).ok());

  h.gate->close();
  // Destroyed after the gate opens (`opener` is declared after them): a failing check does
  // not leave their threads waiting on a held fsync.
  std::optional<BackgroundCall> revoke;
  std::optional<BackgroundCall> put;
  OpenOnExit opener(h.gate);
  revoke.emplace(h, actors::Request{protocol::LeaseRevokeRequest{5}});
  // The revocation's record removal is held on its way to disk; lease 5 is already gone
  // from the node's table, so a put to it is refused...
  REQUIRE(h.gate->wait_held());
  put.emplace(h, actors::Request{h.put("k", 5)});
  h.read_is_served();
  h.read_is_served();
  // ...but the refusal tells that the lease is gone, which a crash now would undo: it
  // leaves only with the revocation. (Without the wait it left at once, and this failed;
  // the message-by-message version of this check is refusal_durability_test.cpp.)
  CHECK_FALSE(put->done());
  CHECK_FALSE(revoke->done());
  h.gate->open();
  auto refused = put->answer();
  REQUIRE(refused);
  const auto* error = std::get_if<storage::Error>(&*refused);
  REQUIRE(error != nullptr);
  CHECK(error->code() == storage::Errc::lease_not_found);
  auto revoked = revoke->answer();
  REQUIRE(revoked);
  CHECK(std::holds_alternative<actors::Response>(*revoked));
}

TEST_CASE(
    "the NOSPACE alarm raised by the quota is synced by the backend actor before the "
    "refusal leaves",
    "[actors][alarm][fsync]") {
  // A quota of 1 byte: the first put raises the alarm.
  HeldSyncHarness h(std::make_shared<SyncGate>(), /*quota=*/1);
  h.gate->take_threads();

  h.gate->close();
  BackgroundCall put(h, actors::Request{h.put("big")});
  OpenOnExit opener(h.gate);
  REQUIRE(h.gate->wait_held());
  // The alarm's fsync is held; the door that raised it, and every other, still serve.
  h.read_is_served();
  CHECK_FALSE(put.done());  // the refusal waits until the alarm is durable
  h.gate->open();
  auto answer = put.answer();
  REQUIRE(answer);
  const auto* error = std::get_if<storage::Error>(&*answer);
  REQUIRE(error != nullptr);
  CHECK(error->code() == storage::Errc::no_space);
  CHECK(h.gate->take_threads() == kBackendOnly);
  auto persisted = actors::load_nospace_alarm(*h.node().context()->backend);
  REQUIRE(persisted.ok());
  CHECK(*persisted);
  // Raised once: the next refusal does not write it again.
  auto again = h.call<storage::PutResponse>(h.put("more"));
  REQUIRE_FALSE(again.ok());
  CHECK(again.error().code() == storage::Errc::no_space);
  CHECK(h.gate->take_threads().empty());
}

TEST_CASE("LeaseTimeToLive lists a key only once its attaching put is durable",
          "[actors][lease][fsync]") {
  HeldSyncHarness h(std::make_shared<SyncGate>());
  REQUIRE(h.call<protocol::LeaseGrantResponse>(protocol::LeaseGrantRequest{60, 7}).ok());
  REQUIRE(h.call<storage::PutResponse>(h.put("early", 7)).ok());

  h.gate->close();
  BackgroundCall late(h, actors::Request{h.put("late", 7)});
  OpenOnExit opener(h.gate);
  // Its shard has applied it (the held fsync is its commit's), but it is not acknowledged.
  REQUIRE(h.gate->wait_held());
  CHECK(h.lease_keys(7) == std::vector<std::string>{"early"});
  CHECK_FALSE(late.done());
  h.gate->open();
  auto answer = late.answer();
  REQUIRE(answer);
  CHECK(std::holds_alternative<actors::Response>(*answer));
  CHECK(h.lease_keys(7) == std::vector<std::string>{"early", "late"});
}

TEST_CASE(
    "a lease grant is synced by the backend actor, and the lessor serves on while it is "
    "held",
    "[actors][lease][fsync]") {
  HeldSyncHarness h(std::make_shared<SyncGate>());
  REQUIRE(h.call<protocol::LeaseGrantResponse>(protocol::LeaseGrantRequest{60, 5}).ok());
  h.gate->take_threads();

  h.gate->close();
  BackgroundCall grant(h, actors::Request{protocol::LeaseGrantRequest{30, 9}});
  OpenOnExit opener(h.gate);
  // Nothing else writes: the held fsync is the one that carries lease 9's record.
  REQUIRE(h.gate->wait_held());
  // The lessor does not wait for the disk: it answers while the record is held. Lease 9's
  // id is taken, but the lease exists only once its record is durable.
  auto twice = h.call<protocol::LeaseGrantResponse>(protocol::LeaseGrantRequest{60, 9});
  REQUIRE_FALSE(twice.ok());
  CHECK(twice.error().code() == storage::Errc::lease_exists);
  auto kept = h.call<protocol::LeaseKeepAliveResponse>(protocol::LeaseKeepAliveRequest{5});
  REQUIRE(kept.ok());
  CHECK(kept->ttl == 60);
  auto listed = h.call<protocol::LeaseLeasesResponse>(protocol::LeaseLeasesRequest{});
  REQUIRE(listed.ok());
  REQUIRE(listed->leases.size() == 1);
  CHECK(listed->leases[0].id == 5);
  auto unknown =
      h.call<protocol::LeaseTimeToLiveResponse>(protocol::LeaseTimeToLiveRequest{9, false});
  REQUIRE(unknown.ok());
  CHECK(unknown->ttl == -1);
  CHECK_FALSE(grant.done());

  h.gate->open();
  auto answer = grant.answer();
  REQUIRE(answer);
  const auto* response = std::get_if<actors::Response>(&*answer);
  REQUIRE(response != nullptr);
  const auto& granted = std::get<protocol::LeaseGrantResponse>(*response);
  CHECK(granted.id == 9);
  CHECK(granted.ttl == 30);
  CHECK(h.gate->take_threads() == kBackendOnly);
  CHECK(h.node().context()->leases.exists(9));
  auto live = h.call<protocol::LeaseTimeToLiveResponse>(protocol::LeaseTimeToLiveRequest{9, false});
  REQUIRE(live.ok());
  CHECK(live->granted_ttl == 30);
}
