// The backend actor's look at an idle store every second (Backend::flush_latest_if_idle,
// docs/STORAGE.md "An idle store's overwritten records"), on a node of the actor harness:
// once the writes stop, the overwritten records of a hot `latest` column are flushed without
// anyone asking. The test waits on conditions with deadlines, woken by each flush that ends.

#include "actors/node_context.hpp"
#include "storage/backend.hpp"
#include "tests/actors/actor_harness.hpp"
#include "tests/flush_waiter.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace revkv;

TEST_CASE("the backend actor flushes an idle hot latest column's overwritten records",
          "[backend_actor]") {
  testing::HarnessOptions options;
  auto waiter = testing::FlushWaiter::attach(options.backend_hooks);
  testing::ActorHarness harness(options);
  storage::Backend& backend = *harness.node().context()->backend;
  // 100 keys overwritten until the column is a hot key set (level 0 compacted at every flush)
  // and its memtable holds 5,000 records or more. The keys lie outside every shard's part of
  // the column (the prefix of part 0xffff, past storage::kMaxLatestParts), so that no read
  // of the node ever meets them.
  int round = 0;
  auto overwrite_round = [&] {
    storage::WriteBatch batch(backend);
    for (int k = 0; k < 100; ++k)
      batch.put(storage::Column::latest,
                std::string("\xff\xff") + "idle-test/" + std::to_string(1000 + k),
                "v" + std::to_string(round));
    ++round;
    REQUIRE(backend.write(batch).ok());
    waiter->wait_none_in_flight(backend);
  };
  while (round < 400 || *backend.level0_compaction_trigger(storage::Column::latest) != 1 ||
         *backend.active_memtable_entries(storage::Column::latest) < 5000) {
    REQUIRE(round < 2000);
    overwrite_round();
  }
  // No more writes: within two looks (about two seconds) the memtable is flushed.
  CHECK(
      waiter->wait([&] { return *backend.active_memtable_entries(storage::Column::latest) == 0; }));
  CHECK(*backend.active_memtable_entries(storage::Column::latest) == 0);
}
