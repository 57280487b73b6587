// The waits a follower asks of its own actors before it answers a change it forwarded
// (actors/applied_here.hpp, docs/CLUSTER.md "Forwarding"), on a node of the actor harness:
//   - the backend's bounded wait (wait_atom, revision, patience): W once W reaches the
//     revision, else W as it is once the patience ran out, so that nothing waits on for ever;
//   - the maintenance actor's (applied_here_atom, ...): true once this member's compaction (or
//     its physical job) reached the revision, or its copy of the NOSPACE alarm is as asked;
//     false once the patience ran out;
//   - the maintenance actor starting a compaction another member proposed once W reached
//     its revision (replicated_compact_atom).
// The node is a single one here: what is waited for is local state, moved by requests the
// test makes. Replies are awaited with a deadline far beyond what any of them should take.

#include "actors/messages.hpp"
#include "tests/actors/actor_harness.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <optional>

using namespace revkv;
using namespace std::chrono_literals;

namespace {

constexpr auto kDeadline = std::chrono::seconds(30);

// The reply of a request sent earlier with `self`, within kDeadline.
template <class Reply, class Handle>
std::optional<Reply> reply_of(Handle& handle) {
  std::optional<Reply> out;
  handle.receive([&](Reply r) { out = r; }, [&](caf::error& e) { FAIL(caf::to_string(e)); });
  return out;
}

int64_t put(testing::ActorHarness& harness, const char* key) {
  auto r = harness.call<storage::PutResponse>(storage::PutRequest{key, "v"});
  REQUIRE(r.ok());
  return r->revision;
}

}  // namespace

TEST_CASE("the backend answers a follower's bounded wait at W, or with W once its time is up",
          "[backend_actor]") {
  testing::ActorHarness harness;
  caf::scoped_actor self{harness.system()};
  const auto& backend = harness.routes().backend;
  const int64_t w = put(harness, "a");

  // Covered already: at once.
  auto covered = self->request(backend, kDeadline, actors::wait_atom::value, w, caf::timespan{1ms});
  CHECK(reply_of<int64_t>(covered) == w);

  // The next revision: answered when a put makes it durable, long before its patience.
  auto next =
      self->request(backend, kDeadline, actors::wait_atom::value, w + 1, caf::timespan{60s});
  const int64_t w2 = put(harness, "b");
  REQUIRE(w2 == w + 1);
  CHECK(reply_of<int64_t>(next) == w2);

  // A revision never reached: its time runs out and it is answered with W as it is (at the
  // backend's next idle check, about a second later).
  auto never =
      self->request(backend, kDeadline, actors::wait_atom::value, w2 + 1000, caf::timespan{10ms});
  CHECK(reply_of<int64_t>(never) == w2);
}

TEST_CASE("the maintenance actor answers a follower's wait for a compaction it forwarded",
          "[maintenance_actor]") {
  testing::ActorHarness harness;
  caf::scoped_actor self{harness.system()};
  const auto& maintenance = harness.routes().maintenance;
  put(harness, "a");
  const int64_t first = put(harness, "a");
  const int64_t second = put(harness, "a");
  put(harness, "a");

  // Asked before the compaction: answered once it ran.
  auto logical = self->request(maintenance, kDeadline, actors::applied_here_atom::value, first,
                               false, caf::timespan{60s});
  REQUIRE(harness.call<storage::CompactResponse>(protocol::CompactionRequest{first, false}).ok());
  CHECK(reply_of<bool>(logical) == true);

  // Asked after it: at once.
  auto after = self->request(maintenance, kDeadline, actors::applied_here_atom::value, first, false,
                             caf::timespan{1ms});
  CHECK(reply_of<bool>(after) == true);

  // A physical one waits for the physical job: when it is answered, the job is done (the
  // compaction itself, asked without waiting for it, is answered after).
  auto physical = self->request(maintenance, kDeadline, actors::applied_here_atom::value, second,
                                true, caf::timespan{60s});
  auto compacted = self->request(maintenance, kDeadline, protocol::CompactionRequest{second, true});
  CHECK(reply_of<bool>(physical) == true);
  CHECK(harness.node().context()->finished_compact_revision.load() >= second);
  std::optional<bool> compacted_ok;
  compacted.receive([&](storage::Result<storage::CompactResponse>& r) { compacted_ok = r.ok(); },
                    [&](caf::error& e) { FAIL(caf::to_string(e)); });
  CHECK(compacted_ok == true);

  // One never reached ends when its time is up.
  auto never = self->request(maintenance, kDeadline, actors::applied_here_atom::value,
                             second + 1000, false, caf::timespan{10ms});
  CHECK(reply_of<bool>(never) == false);
}

TEST_CASE("the maintenance actor answers a follower's wait for an alarm change it forwarded",
          "[maintenance_actor]") {
  testing::ActorHarness harness;
  caf::scoped_actor self{harness.system()};
  const auto& maintenance = harness.routes().maintenance;
  auto& ctx = *harness.node().context();

  // No alarm: a wait for "cleared" is answered at once, one for "raised" when its time is up.
  auto cleared = self->request(maintenance, kDeadline, actors::applied_here_atom::value, false,
                               caf::timespan{1ms});
  CHECK(reply_of<bool>(cleared) == true);
  auto raised = self->request(maintenance, kDeadline, actors::applied_here_atom::value, true,
                              caf::timespan{10ms});
  CHECK(reply_of<bool>(raised) == false);

  // Raised while one waits: answered when the apply path tells the actor (on a cluster
  // member, apps/revkvd/replica.cpp after it applied the alarm's entry).
  auto waiting = self->request(maintenance, kDeadline, actors::applied_here_atom::value, true,
                               caf::timespan{60s});
  ctx.publish_nospace_alarm(true, 7);  // as applied from the log: naming a member
  self->send(maintenance, actors::alarm_applied_atom::value);
  CHECK(reply_of<bool>(waiting) == true);
  ctx.publish_nospace_alarm(false, 0);
}

TEST_CASE("the maintenance actor starts another member's compaction once W reaches it",
          "[maintenance_actor]") {
  // On a cluster member the apply path hands it a compaction another member proposed
  // (replicated_compact_atom, apps/revkvd/replica.cpp), possibly before the backend moved W
  // to the compaction's revision: it starts once W gets there (the backend tells it), and
  // not before. Here W is moved by puts on a single node.
  testing::ActorHarness harness;
  caf::scoped_actor self{harness.system()};
  const auto& maintenance = harness.routes().maintenance;
  auto& ctx = *harness.node().context();
  put(harness, "a");
  const int64_t w = put(harness, "a");
  self->send(maintenance, actors::replicated_compact_atom::value, w + 2);
  // Not yet: W is short of it (the wait ends when its time is up).
  auto early = self->request(maintenance, kDeadline, actors::applied_here_atom::value, w + 2, false,
                             caf::timespan{10ms});
  CHECK(reply_of<bool>(early) == false);
  CHECK(ctx.compact_revision.load() < w + 2);
  auto started = self->request(maintenance, kDeadline, actors::applied_here_atom::value, w + 2,
                               false, caf::timespan{60s});
  put(harness, "b");
  CHECK(ctx.compact_revision.load() < w + 2);
  REQUIRE(put(harness, "c") == w + 2);
  CHECK(reply_of<bool>(started) == true);
  CHECK(ctx.compact_revision.load() == w + 2);
  auto done = self->request(maintenance, kDeadline, actors::applied_here_atom::value, w + 2, true,
                            caf::timespan{60s});
  CHECK(reply_of<bool>(done) == true);
  // A compaction at or below the one done is one replayed (after a restart): nothing.
  self->send(maintenance, actors::replicated_compact_atom::value, w + 1);
  auto same = self->request(maintenance, kDeadline, actors::applied_here_atom::value, w + 2, false,
                            caf::timespan{1ms});
  CHECK(reply_of<bool>(same) == true);
  CHECK(ctx.compact_revision.load() == w + 2);
}

TEST_CASE("the maintenance actor starts queued compactions in order and refuses one below them",
          "[maintenance_actor]") {
  // Two compactions another member proposed, both beyond W: each starts once W reaches it,
  // in order. Meanwhile a Compact asked of this member at or below the queued one is refused
  // as compacted, as etcd's member (which compacted at apply) refuses it.
  testing::ActorHarness harness;
  caf::scoped_actor self{harness.system()};
  const auto& maintenance = harness.routes().maintenance;
  auto& ctx = *harness.node().context();
  const int64_t w = put(harness, "a");
  self->send(maintenance, actors::replicated_compact_atom::value, w + 1);
  self->send(maintenance, actors::replicated_compact_atom::value, w + 2);
  auto below = harness.call<storage::CompactResponse>(protocol::CompactionRequest{w, false});
  REQUIRE_FALSE(below.ok());
  CHECK(below.error().code() == storage::Errc::compacted);
  CHECK(ctx.compact_revision.load() < w + 1);
  auto first = self->request(maintenance, kDeadline, actors::applied_here_atom::value, w + 1, false,
                             caf::timespan{60s});
  REQUIRE(put(harness, "b") == w + 1);
  CHECK(reply_of<bool>(first) == true);
  CHECK(ctx.compact_revision.load() == w + 1);
  auto second = self->request(maintenance, kDeadline, actors::applied_here_atom::value, w + 2,
                              false, caf::timespan{60s});
  REQUIRE(put(harness, "c") == w + 2);
  CHECK(reply_of<bool>(second) == true);
  CHECK(ctx.compact_revision.load() == w + 2);
  // Its physical job ends too (and the test with it, not the job's requests to the shards).
  auto done = self->request(maintenance, kDeadline, actors::applied_here_atom::value, w + 2, true,
                            caf::timespan{60s});
  CHECK(reply_of<bool>(done) == true);
}
