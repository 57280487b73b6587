// A cluster member's maintenance actor proposing a compaction (docs/CLUSTER.md, the
// `compaction` state change), on a maintenance actor whose cluster link answers each
// proposal as the test says the apply went (apps/revkvd/replica.cpp does the same on a
// member):
//   - applied: the compaction runs here and is answered;
//   - skipped by the apply (a compaction at or below it came first in the log, from another
//     leader): answered `compacted`, and this member's compact revision does not move;
//   - failed (leadership moved) yet committed: answered with the failure, and run here all the
//     same once the apply's message arrives, as on every other member;
// and actors::fatal_unless_stopped, which lets a core actor's work end on a stopped shard
// only while the node stops.

#include "actors/cluster_link.hpp"
#include "actors/fatal.hpp"
#include "actors/maintenance_actor.hpp"
#include "actors/messages.hpp"
#include "actors/node_context.hpp"
#include "storage/backend.hpp"
#include "tests/temp_dir.hpp"

#include <caf/all.hpp>
#include <catch2/catch.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

using namespace revkv;
using namespace std::chrono_literals;

namespace {

// How the test's apply treats the next proposal.
enum class Apply { applied, skipped, failed };

// The shard, the watch hub and the backend as the maintenance actor asks them: an empty
// index, every revision fanned out, W covering everything.
caf::behavior quiet_shard(caf::event_based_actor*) {
  return {
      [](actors::compact_atom, int64_t) { return actors::KeepSet{}; },
      [](actors::keep_atom, int64_t) { return actors::KeepSet{}; },
      [](actors::watch_sync_atom) { return true; },
      [](actors::wait_atom, int64_t revision) { return revision; },
  };
}

struct ProposingMember {
  ProposingMember() : sys(cfg), self(sys) {
    auto backend = storage::Backend::open(dir.sub("data"), {});
    REQUIRE(backend.ok());
    ctx->backend = std::move(*backend);
    ctx->watermark.store(100);
    ctx->cluster = link;
    link->leader.store(true);
    link->propose = [this](std::string) {
      const uint64_t index = ++last_index;
      switch (next) {
        case Apply::skipped:
          link->own_compaction_skipped_at.store(index);  // as the member's apply does
          return actors::ClusterLink::Proposed{index, std::nullopt};
        case Apply::failed:
          return actors::ClusterLink::Proposed{0, "etcdserver: leader changed"};
        case Apply::applied:
          break;
      }
      return actors::ClusterLink::Proposed{index, std::nullopt};
    };
    others = sys.spawn(quiet_shard);
    maintenance = actors::spawn_maintenance_actor(sys, ctx, {others}, others, others, std::nullopt);
  }
  ~ProposingMember() {
    self->send_exit(maintenance, caf::exit_reason::user_shutdown);
    self->send_exit(others, caf::exit_reason::user_shutdown);
  }

  storage::Result<storage::CompactResponse> compact(int64_t revision) {
    std::optional<storage::Result<storage::CompactResponse>> out;
    self->request(maintenance, std::chrono::seconds(30),
                  protocol::CompactionRequest{revision, false})
        .receive([&](storage::Result<storage::CompactResponse>& r) { out = std::move(r); },
                 [&](caf::error& e) { FAIL(caf::to_string(e)); });
    REQUIRE(out);
    return std::move(*out);
  }
  // Once this member's compaction reached `revision` (the maintenance actor's own wait).
  bool compacted_to(int64_t revision) {
    std::optional<bool> reached;
    self->request(maintenance, std::chrono::seconds(30), actors::applied_here_atom::value, revision,
                  false, caf::timespan{10s})
        .receive([&](bool r) { reached = r; }, [&](caf::error& e) { FAIL(caf::to_string(e)); });
    return reached == true;
  }

  testing::TempDir dir;
  caf::actor_system_config cfg;
  caf::actor_system sys;
  caf::scoped_actor self;
  actors::NodeContextPtr ctx = std::make_shared<actors::NodeContext>();
  std::shared_ptr<actors::ClusterLink> link = std::make_shared<actors::ClusterLink>();
  Apply next = Apply::applied;
  uint64_t last_index = 0;
  caf::actor others;
  caf::actor maintenance;
};

}  // namespace

TEST_CASE("a member answers the compaction it proposed as its entry's apply went",
          "[actors][cluster][compaction]") {
  ProposingMember m;
  REQUIRE(m.compact(50).ok());
  CHECK(m.ctx->compact_revision.load() == 50);

  // Another leader's compaction at 70 came first in the log: this one, at 60, changed nothing.
  m.next = Apply::skipped;
  auto skipped = m.compact(60);
  REQUIRE_FALSE(skipped.ok());
  CHECK(skipped.error().code() == storage::Errc::compacted);
  CHECK(m.ctx->compact_revision.load() == 50);

  // A proposal that failed as leadership moved, committed all the same: answered with the
  // failure, then run once the apply's message comes, as every other member runs it.
  m.next = Apply::failed;
  auto failed = m.compact(80);
  REQUIRE_FALSE(failed.ok());
  CHECK(failed.error().message() == "etcdserver: leader changed");
  CHECK(m.ctx->compact_revision.load() == 50);
  m.self->send(m.maintenance, actors::replicated_compact_atom::value, int64_t{80});
  CHECK(m.compacted_to(80));

  // The apply's message for a compaction this member ran already changes nothing.
  m.next = Apply::applied;
  REQUIRE(m.compact(90).ok());
  m.self->send(m.maintenance, actors::replicated_compact_atom::value, int64_t{90});
  CHECK(m.compacted_to(90));
  CHECK(m.ctx->compact_revision.load() == 90);
  auto again = m.compact(90);
  REQUIRE_FALSE(again.ok());
  CHECK(again.error().code() == storage::Errc::compacted);
}

namespace {

[[noreturn]] void throwing_fatal(std::string_view what) {
  throw std::runtime_error(std::string(what));
}

}  // namespace

TEST_CASE("a request to a stopped shard ends a core actor's work only while the node stops",
          "[actors]") {
  actors::set_fatal_handler_for_test(throwing_fatal);
  const caf::error down = caf::sec::request_receiver_down;
  CHECK_NOTHROW(actors::fatal_unless_stopped("pausing the shards", down, /*stopping=*/true));
  CHECK_THROWS(actors::fatal_unless_stopped("pausing the shards", down, /*stopping=*/false));
  const caf::error other = caf::sec::request_timeout;
  CHECK_THROWS(actors::fatal_unless_stopped("pausing the shards", other, /*stopping=*/true));
  actors::set_fatal_handler_for_test(nullptr);
}
