// storage::Backend after an I/O failure, over the power-cut file system: the node treats
// the first failed write as fatal, but whatever runs after it (Node::stop's final WAL sync,
// a compaction still queued) must be refused by the backend, not handed to RocksDB, whose
// WAL writer is unusable after an error (its debug builds, Debian's librocksdb among them,
// abort the process on the next sync).

#include "storage/backend.hpp"
#include "tests/powerloss/power_cut_fs.hpp"
#include "tests/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <filesystem>

namespace revkv::testing {
namespace {

TEST_CASE("backend: after a failed write, later writes, syncs and flushes are refused",
          "[powerloss]") {
  TempDir tmp;
  auto cut_fs = std::make_shared<PowerCutFs>(tmp.sub("trash"));
  std::filesystem::create_directories(tmp.sub("db"));
  storage::BackendOptions options;
  options.env = PowerCutFs::env_of(cut_fs);
  options.sync = true;
  auto opened = storage::Backend::open(tmp.sub("db"), options);
  REQUIRE(opened.ok());
  auto& backend = **opened;
  storage::WriteBatch batch(backend);
  batch.put(storage::Column::kv, "k", "v");
  REQUIRE(backend.write(batch).ok());

  cut_fs->cut_now();
  auto failed = backend.write(batch);
  REQUIRE_FALSE(failed.ok());
  CHECK(failed.error().code() == storage::Errc::io_error);

  auto synced = backend.sync_wal();
  REQUIRE_FALSE(synced.ok());
  CHECK(synced.error().code() == storage::Errc::failed);
  auto again = backend.write(batch);
  REQUIRE_FALSE(again.ok());
  CHECK(again.error().code() == storage::Errc::failed);
  auto flushed = backend.flush();
  REQUIRE_FALSE(flushed.ok());
  CHECK(flushed.error().code() == storage::Errc::failed);
  CHECK_FALSE(backend.defragment().ok());
  // Reads of what is in memory still work; closing works.
  auto read = backend.get(storage::Column::kv, "k");
  CHECK((!read.ok() || read->has_value()));
  auto closed = backend.close();
  (void)closed;  // fails: the power is off

  cut_fs->apply_cut();
  storage::BackendOptions plain;
  auto reopened = storage::Backend::open(tmp.sub("db"), plain);
  REQUIRE(reopened.ok());
  auto value = (*reopened)->get(storage::Column::kv, "k");
  REQUIRE(value.ok());
  CHECK(value->value_or("") == "v");  // the write acked before the cut (sync=true) is there
}

}  // namespace
}  // namespace revkv::testing
