// The watch hub alone on CAF's deterministic test coordinator, over a real backend holding
// a large history: the catch-up of watchers from an old revision must come in responses
// bounded in bytes, every event once and in order, and the watchers of one catch-up step
// must point into one shared batch of events instead of each holding a copy.

#include "actors/watch_hub.hpp"

#include "actors/messages.hpp"
#include "actors/node_context.hpp"
#include "storage/backend.hpp"
#include "storage/record.hpp"
#include "storage/revision.hpp"
#include "tests/actors/caf_dsl.hpp"
#include "tests/temp_dir.hpp"

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

using namespace revkv;

namespace {

constexpr int64_t kRevisions = 256;
constexpr size_t kValueBytes = 64 * 1024;  // 16 MiB of history in all

std::string key_of(int64_t rev) {
  return "w/" + std::to_string(rev % 50);
}

// Revisions 2..kRevisions+1, one put each, straight into `kv` as the shards write them.
void write_history(storage::Backend& backend) {
  std::map<std::string, storage::KeyValue> live;
  for (int64_t rev = 2; rev <= kRevisions + 1; ++rev) {
    auto& kv = live[key_of(rev)];
    if (kv.version == 0) kv.create_revision = rev;
    kv.key = key_of(rev);
    kv.mod_revision = rev;
    ++kv.version;
    kv.value = std::string(kValueBytes, static_cast<char>('a' + rev % 26));
    storage::WriteBatch batch(backend);
    batch.put(storage::Column::kv, storage::encode_revision_key(storage::Revision{rev, 0}),
              storage::encode_key_value(kv));
    REQUIRE(backend.write(batch, false).ok());
  }
}

struct HubFixture : test_coordinator_fixture<> {
  HubFixture() {
    auto backend = storage::Backend::open(dir.sub("data"), storage::BackendOptions{});
    REQUIRE(backend.ok());
    ctx->backend = std::move(*backend);
    write_history(*ctx->backend);
    ctx->watermark.store(kRevisions + 1);
    hub = actors::spawn_watch_hub(sys, ctx, {}, kRevisions + 1);
    sched.run();
  }

  ~HubFixture() {
    caf::anon_send_exit(hub, caf::exit_reason::user_shutdown);
    sched.run();
  }

  void create(uint64_t tag, std::string key, std::string range_end) {
    actors::WatchSpec spec;
    spec.range = storage::KeyRange::from_request(key, range_end);
    spec.start_revision = 1;  // a watch from revision 1: all of the history
    self->send(hub, actors::watch_create_atom::value, static_cast<uint32_t>(tag), tag,
               std::move(spec));
  }

  // Every watch_out the hub sent to `self` so far, in order.
  std::vector<actors::WatchDeliveries> received() {
    std::vector<actors::WatchDeliveries> out;
    bool more = true;
    while (more) {
      self->receive(
          [](actors::watch_created_atom, uint32_t, uint64_t, int64_t) {},
          [&](actors::watch_out_atom, actors::WatchDeliveries& d) { out.push_back(std::move(d)); },
          caf::after(std::chrono::seconds(0)) >> [&] { more = false; });
    }
    return out;
  }

  testing::TempDir dir;
  actors::NodeContextPtr ctx = std::make_shared<actors::NodeContext>();
  caf::actor hub;
};

}  // namespace

TEST_CASE_METHOD(HubFixture,
                 "a watch from revision 1 on a 16 MiB history catches up in responses bounded "
                 "in bytes, every event once, in order, from batches shared by the watchers",
                 "[actors][watch_hub]") {
  create(1, "w/", "w0");  // the prefix: every event
  const std::string zero(1, '\0');
  create(2, zero, zero);  // every key from "\0": the same events, a different watcher
  sched.run();
  auto batches = received();

  const size_t budget = ctx->options.max_request_bytes + 512 * 1024;
  std::map<uint64_t, std::vector<int64_t>> revisions;
  std::map<uint64_t, size_t> responses;
  for (auto& deliveries : batches) {
    // One step of the catch-up: both watchers want the same events and are in the same
    // group, so they point into one batch, and what they will write is identical.
    REQUIRE(deliveries.size() == 2);
    CHECK(deliveries[0].shared != nullptr);
    CHECK(deliveries[0].shared == deliveries[1].shared);
    CHECK(deliveries[0].picks == deliveries[1].picks);
    for (auto& d : deliveries) {
      auto r = d.take_response();
      size_t bytes = 0;
      for (const auto& ev : r.events) {
        bytes += ev.kv.key.size() + ev.kv.value.size();
        revisions[d.tag].push_back(ev.kv.mod_revision);
        CHECK(ev.kv.value ==
              std::string(kValueBytes, static_cast<char>('a' + ev.kv.mod_revision % 26)));
      }
      // Whole revisions until the budget is reached: under it plus one revision.
      CHECK(bytes < budget + kValueBytes + 16);
      CHECK(r.header.revision == kRevisions + 1);
      ++responses[d.tag];
    }
  }
  std::vector<int64_t> all;
  for (int64_t rev = 2; rev <= kRevisions + 1; ++rev)
    all.push_back(rev);
  CHECK(revisions[1] == all);
  CHECK(revisions[2] == all);
  // 16 MiB in responses of about 2 MiB: not the one response a revision count allows.
  CHECK(responses[1] >= 8);
  CHECK(responses[2] == responses[1]);
}

TEST_CASE_METHOD(HubFixture, "the hub raises W to the W it is told of, never lowering it",
                 "[actors][watch_hub]") {
  // The backend tells the hub of W, then stores it: a read after an event must not be
  // answered from before the event, even when the hub runs first.
  ctx->watermark.store(kRevisions - 5);
  self->send(hub, actors::durable_atom::value, int64_t{kRevisions + 1});
  sched.run();
  CHECK(ctx->watermark.load() == kRevisions + 1);
  // Never lowered by an older notice.
  self->send(hub, actors::durable_atom::value, int64_t{kRevisions - 10});
  sched.run();
  CHECK(ctx->watermark.load() == kRevisions + 1);
}
