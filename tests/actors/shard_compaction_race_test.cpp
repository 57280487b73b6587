// A compaction that lands between a door's check and a shard's read (issue 12, item 2.1),
// message by message on CAF's deterministic test coordinator: a real shard actor over a real
// keyspace and RocksDB, a harness door in front of it, and the test playing the maintenance
// actor. The door checks ctx->compact_revision when it takes a Range; the maintenance actor's
// compact_atom can reach the shard's mailbox before the door's range_atom does, and the shard
// must then answer ErrCompacted itself, not read its compacted index.

#include "actors/messages.hpp"
#include "actors/node_context.hpp"
#include "actors/request_path.hpp"
#include "actors/shard_actor.hpp"
#include "storage/backend.hpp"
#include "storage/keyspace.hpp"
#include "tests/actors/caf_dsl.hpp"
#include "tests/actors/harness_door.hpp"
#include "tests/temp_dir.hpp"

#include <memory>
#include <optional>
#include <string>

using namespace revkv;
using testing::harness_call_atom;

namespace {

struct ShardRaceFixture : test_coordinator_fixture<> {
  ShardRaceFixture() {
    auto backend = storage::Backend::open(dir.sub("data"), storage::BackendOptions{});
    REQUIRE(backend.ok());
    ctx->backend = std::move(*backend);
    ctx->keyspaces.push_back(std::make_unique<storage::Keyspace>(*ctx->backend));
    ctx->index_counts.emplace_back();
    ctx->shard_mailbox_depth.emplace_back(0);
    // History written before the shard starts, all of it durable: k@2, k@3, other@4.
    put_durable("k", "v1", 2);
    put_durable("k", "v2", 3);
    put_durable("other", "o", 4);
    shard = actors::spawn_shard_actor(sys, ctx, 0, caf::actor{});
    actors::Routes routes;
    routes.shards = {shard};
    routes.coordinator = shard;  // not reached: one shard, reads only
    routes.maintenance = shard;
    routes.lessor = shard;
    routes.watch_hub = shard;
    door = testing::spawn_harness_door(sys, ctx, routes, shard);
    sched.run();
  }

  ~ShardRaceFixture() {
    for (const auto& a : {shard, door})
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    sched.run();
  }

  void put_durable(const std::string& key, const std::string& value, int64_t revision) {
    storage::WriteBatch batch(*ctx->backend);
    ctx->keyspaces[0]->put(key, value, 0, storage::Revision{revision, 0}, batch);
    REQUIRE(ctx->backend->write(batch, false).ok());
    ctx->last_revision.store(revision);
    ctx->watermark.store(revision);
  }

  testing::TempDir dir;
  actors::NodeContextPtr ctx = std::make_shared<actors::NodeContext>();
  caf::actor shard, door;
};

storage::RangeRequest range_at(const std::string& key, int64_t revision) {
  storage::RangeRequest r;
  r.key = key;
  r.revision = revision;
  return r;
}

}  // namespace

TEST_CASE_METHOD(ShardRaceFixture,
                 "a compaction that reaches the shard after the door's check but before its "
                 "read answers ErrCompacted, not a compacted index's keys",
                 "[actors][compaction][race]") {
  // The maintenance actor's index compaction at 3 is already queued at the shard ...
  self->send(shard, actors::compact_atom::value, int64_t{3});
  // ... when the door takes a Range at revision 2: ctx->compact_revision is not yet 3 for
  // it (the maintenance actor publishes it concurrently), so its own check passes.
  auto reply = self->request(door, caf::infinite, harness_call_atom::value,
                             actors::Request{range_at("k", 2)});
  expect((harness_call_atom, actors::Request), from(self).to(door));
  ctx->compact_revision.store(3);
  // The shard's mailbox holds the compaction first, then the door's read.
  expect((actors::compact_atom, int64_t), from(self).to(shard));
  expect((actors::range_atom, storage::RangeRequest, int64_t), from(door).to(shard));
  expect((storage::Result<storage::RangeFetch>), from(shard).to(door));
  sched.run();
  std::optional<actors::Answer> answer;
  reply.receive([&](actors::Answer& a) { answer = std::move(a); },
                [&](caf::error& e) { FAIL("no answer: " << sys.render(e)); });
  REQUIRE(answer);
  const auto* error = std::get_if<storage::Error>(&*answer);
  REQUIRE(error != nullptr);
  CHECK(error->code() == storage::Errc::compacted);
  // What every door writes for it (etcd's ErrCompacted; gRPC OutOfRange).
  auto wire = actors::wire_error(*answer);
  CHECK(wire.message == "etcdserver: mvcc: required revision has been compacted");
  CHECK(wire.code == 11);
}

TEST_CASE_METHOD(ShardRaceFixture,
                 "after the shard's compaction, a read at or above it is still served",
                 "[actors][compaction][race]") {
  self->send(shard, actors::compact_atom::value, int64_t{3});
  ctx->compact_revision.store(3);
  sched.run();
  auto reply = self->request(door, caf::infinite, harness_call_atom::value,
                             actors::Request{range_at("k", 3)});
  sched.run();
  std::optional<actors::Answer> answer;
  reply.receive([&](actors::Answer& a) { answer = std::move(a); },
                [&](caf::error& e) { FAIL("no answer: " << sys.render(e)); });
  REQUIRE(answer);
  const auto* response = std::get_if<actors::Response>(&*answer);
  REQUIRE(response != nullptr);
  const auto& range = std::get<storage::RangeResponse>(*response);
  REQUIRE(range.kvs.size() == 1);
  CHECK(range.kvs[0].value == "v2");
}
