#include "storage/backend.hpp"

#include "storage/history.hpp"
#include "storage/rocksdb_options.hpp"
#include "tests/flush_waiter.hpp"
#include "tests/temp_dir.hpp"

#include <catch2/catch.hpp>
#include <rocksdb/utilities/options_util.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <mutex>

using namespace revkv::storage;
using revkv::testing::TempDir;

namespace {

std::unique_ptr<Backend> open_backend(const std::string& dir, BackendOptions o = {}) {
  auto b = Backend::open(dir, o);
  REQUIRE(b.ok());
  return std::move(*b);
}

// A backend whose test waits, after each write, for the `latest` column's flushes in flight
// to end (tests/flush_waiter.hpp says why).
class SettledBackend {
 public:
  SettledBackend(const std::string& dir, BackendOptions o)
      : waiter_(revkv::testing::FlushWaiter::attach(o.hooks)), backend(open_backend(dir, o)) {}
  Backend& operator*() { return *backend; }
  Backend* operator->() { return backend.get(); }

  void write_settled(const WriteBatch& batch) {
    REQUIRE(backend->write(batch).ok());
    waiter_->wait_none_in_flight(*backend);
  }

 private:
  std::shared_ptr<revkv::testing::FlushWaiter> waiter_;

 public:
  std::unique_ptr<Backend> backend;
};

std::vector<std::string> scan_keys(Backend& b, Column c, std::string_view from, std::string_view to,
                                   bool reverse = false) {
  std::vector<std::string> out;
  auto f = [&](std::string_view k, std::string_view) {
    out.emplace_back(k);
    return true;
  };
  auto s = reverse ? b.scan_reverse(c, from, to, f) : b.scan(c, from, to, f);
  REQUIRE(s.ok());
  return out;
}

}  // namespace

TEST_CASE("backend: batches are atomic and column families are separate", "[backend]") {
  TempDir dir;
  auto b = open_backend(dir.str());
  WriteBatch batch(*b);
  batch.put(Column::kv, "a", "1");
  batch.put(Column::meta, "a", "meta");
  batch.put(Column::kv, "b", "2");
  CHECK(batch.count() == 3);
  REQUIRE(b->write(batch).ok());
  CHECK(b->get(Column::kv, "a")->value() == "1");
  CHECK(b->get(Column::meta, "a")->value() == "meta");
  CHECK_FALSE(b->get(Column::lease, "a")->has_value());

  auto many = b->multi_get(Column::kv, {"b", "zz", "a"});
  REQUIRE(many.ok());
  CHECK((*many)[0] == std::optional<std::string>("2"));
  CHECK_FALSE((*many)[1].has_value());
  CHECK((*many)[2] == std::optional<std::string>("1"));

  WriteBatch del(*b);
  del.erase(Column::kv, "a");
  REQUIRE(b->write(del, true).ok());
  CHECK_FALSE(b->get(Column::kv, "a")->has_value());
}

TEST_CASE("backend: appended batches keep every operation, column and order", "[backend]") {
  TempDir dir;
  auto b = open_backend(dir.str());
  WriteBatch first(*b);
  first.put(Column::kv, "a", "1");
  first.put(Column::lease, "l", "lease");
  WriteBatch second(*b);
  second.put(Column::kv, "a", "2");  // later in the group: wins
  second.erase(Column::lease, "l");
  second.put(Column::meta, "m", "meta");
  first.append(second);
  CHECK(first.count() == 5);
  CHECK(second.count() == 3);  // the source is left as it was
  REQUIRE(b->write(first).ok());
  CHECK(b->get(Column::kv, "a")->value() == "2");
  CHECK_FALSE(b->get(Column::lease, "l")->has_value());
  CHECK(b->get(Column::meta, "m")->value() == "meta");
  CHECK_FALSE(b->get(Column::kv, "m")->has_value());
}

TEST_CASE("backend: a serialized batch lists its puts and erases per column", "[backend]") {
  TempDir dir;
  auto b = open_backend(dir.str());
  WriteBatch made(*b);
  made.put(Column::lease, "l1", "r1");
  made.erase(Column::lease, "l2");
  made.erase(Column::kv, "k");
  made.erase_range(Column::lease, "x", "y");  // not a single-key erase: not listed
  made.erase(Column::lease, "l3");
  WriteBatch copy(*b);
  copy.assign(made.data());  // as a member receives it in a Raft entry
  std::vector<std::string> erased;
  REQUIRE(
      copy.for_each_erase(Column::lease, [&](std::string_view k) { erased.emplace_back(k); }).ok());
  CHECK(erased == std::vector<std::string>{"l2", "l3"});
  std::vector<std::string> put;
  REQUIRE(copy.for_each_put(Column::lease,
                            [&](std::string_view k, std::string_view) { put.emplace_back(k); })
              .ok());
  CHECK(put == std::vector<std::string>{"l1"});
}

TEST_CASE("backend: ordered scans forward and backward with bounds", "[backend]") {
  TempDir dir;
  auto b = open_backend(dir.str());
  WriteBatch batch(*b);
  for (auto k : {"a", "b", "c", "d"})
    batch.put(Column::kv, k, k);
  REQUIRE(b->write(batch).ok());
  using V = std::vector<std::string>;
  CHECK(scan_keys(*b, Column::kv, "b", "d") == V{"b", "c"});
  CHECK(scan_keys(*b, Column::kv, "", "") == V{"a", "b", "c", "d"});
  CHECK(scan_keys(*b, Column::kv, "b", "d", true) == V{"c", "b"});
  CHECK(scan_keys(*b, Column::kv, "", "", true) == V{"d", "c", "b", "a"});
  CHECK(scan_keys(*b, Column::kv, "bb", "cc", true) == V{"c"});
}

TEST_CASE("backend: data survives reopen, checkpoint is an openable copy", "[backend]") {
  TempDir dir;
  std::string db = dir.sub("db");
  {
    auto b = open_backend(db);
    WriteBatch batch(*b);
    batch.put(Column::lease, "l", "x");
    REQUIRE(b->write(batch).ok());
    REQUIRE(b->checkpoint(dir.sub("snap")).ok());
    CHECK(b->checkpoint(dir.sub("snap")).error().code() == Errc::invalid_argument);
    REQUIRE(b->close().ok());
    CHECK(b->get(Column::kv, "x").error().code() == Errc::failed);
  }
  auto again = open_backend(db);
  CHECK(again->get(Column::lease, "l")->value() == "x");
  auto snap = open_backend(dir.sub("snap"));
  CHECK(snap->get(Column::lease, "l")->value() == "x");
}

TEST_CASE("backend: size reflects data and defragment reclaims deleted space", "[backend]") {
  TempDir dir;
  auto b = open_backend(dir.str(), BackendOptions{.compression = Compression::none});
  std::string value(1000, 'v');
  for (int round = 0; round < 5; ++round) {
    WriteBatch batch(*b);
    for (int i = 0; i < 1000; ++i)
      batch.put(Column::kv, "k" + std::to_string(i), value);
    REQUIRE(b->write(batch).ok());
    REQUIRE(b->flush().ok());
  }
  auto before = b->size();
  REQUIRE(before.ok());
  CHECK(before->total_bytes >= 1000 * 1000);
  WriteBatch del(*b);
  for (int i = 0; i < 1000; ++i)
    del.erase(Column::kv, "k" + std::to_string(i));
  REQUIRE(b->write(del).ok());
  REQUIRE(b->defragment().ok());
  auto after = b->size();
  REQUIRE(after.ok());
  CHECK(after->total_bytes < before->total_bytes / 2);
}

TEST_CASE("backend: RocksDB errors become storage errors with RocksDB's message", "[backend]") {
  TempDir dir;
  BackendOptions o;
  o.create_if_missing = false;
  auto missing = Backend::open(dir.sub("nope"), o);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().code() == Errc::invalid_argument);

  // A regular file where the database directory should be.
  std::string file = dir.sub("file");
  { std::ofstream(file) << "x"; }
  auto bad = Backend::open(file, {});
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message().rfind("rocksdb: ", 0) == 0);

  // A second open of a live database fails on RocksDB's lock instead of corrupting it.
  auto first = open_backend(dir.sub("db"));
  auto second = Backend::open(dir.sub("db"), {});
  REQUIRE_FALSE(second.ok());
  CHECK(second.error().code() == Errc::io_error);
  CHECK(second.error().message().find("lock") != std::string::npos);
}

TEST_CASE("backend: hash_all depends on every column's contents, not on history or files",
          "[backend]") {
  TempDir dir;
  auto a = open_backend(dir.sub("a"));
  auto b = open_backend(dir.sub("b"));
  auto hash = [](Backend& x) {
    auto h = x.hash_all();
    REQUIRE(h.ok());
    return *h;
  };
  CHECK(hash(*a) == hash(*b));  // both empty

  // The same contents reached differently: b writes a key it deletes again and is flushed.
  WriteBatch wa(*a);
  wa.put(Column::kv, "k", "v");
  wa.put(Column::lease, "l", "1");
  REQUIRE(a->write(wa).ok());
  WriteBatch wb(*b);
  wb.put(Column::lease, "l", "1");
  wb.put(Column::kv, "gone", "x");
  REQUIRE(b->write(wb).ok());
  REQUIRE(b->flush().ok());
  WriteBatch wb2(*b);
  wb2.erase(Column::kv, "gone");
  wb2.put(Column::kv, "k", "v");
  REQUIRE(b->write(wb2).ok());
  CHECK(hash(*a) == hash(*b));

  // The same bytes in another column, or split differently between key and value: another
  // hash.
  uint32_t same = hash(*a);
  WriteBatch moved(*b);
  moved.erase(Column::kv, "k");
  moved.put(Column::meta, "k", "v");
  REQUIRE(b->write(moved).ok());
  CHECK(hash(*b) != same);
  WriteBatch split(*a);
  split.erase(Column::kv, "k");
  split.put(Column::kv, "kv", "");
  REQUIRE(a->write(split).ok());
  CHECK(hash(*a) != same);

  // Survives a reopen.
  uint32_t before = hash(*a);
  a.reset();
  a = open_backend(dir.sub("a"));
  CHECK(hash(*a) == before);
}

TEST_CASE("backend: overwrites of a few latest keys do not pile up in the memtable", "[backend]") {
  // docs/STORAGE.md "Overwritten records": 100 keys overwritten 400 times each. Without the
  // flush of a stale `latest` memtable its 40,000 entries would all stay there, and a range
  // would step over 400 versions per key.
  TempDir dir;
  BackendOptions o;
  o.sync = false;
  auto b = open_backend(dir.str(), o);
  constexpr int kKeys = 100, kRounds = 400;
  for (int round = 0; round < kRounds; ++round) {
    WriteBatch batch(*b);
    for (int k = 0; k < kKeys; ++k)
      batch.put(Column::latest, "key/" + std::to_string(1000 + k), "v" + std::to_string(round));
    REQUIRE(b->write(batch).ok());
  }
  auto entries = b->active_memtable_entries(Column::latest);
  REQUIRE(entries.ok());
  // At most the minimum before a flush plus what one check interval adds.
  CHECK(*entries < 16384 + 4096 + kKeys);
  // The kv column is not latest: its memtable keeps what it holds.
  WriteBatch kv(*b);
  for (int i = 0; i < 20000; ++i)
    kv.put(Column::kv, "rev/" + std::to_string(i % 10), "x");
  REQUIRE(b->write(kv).ok());
  CHECK(*b->active_memtable_entries(Column::kv) == 20000);
  // Every key reads its newest value, before and after a reopen.
  auto check_newest = [&](Backend& backend) {
    size_t seen = 0;
    REQUIRE(backend
                .scan(Column::latest, "key/", "key0",
                      [&](std::string_view, std::string_view v) {
                        CHECK(v == "v" + std::to_string(kRounds - 1));
                        ++seen;
                        return true;
                      })
                .ok());
    CHECK(seen == kKeys);
  };
  check_newest(*b);
  REQUIRE(b->close().ok());
  b.reset();
  check_newest(*open_backend(dir.str(), o));
}

TEST_CASE("backend: a small latest key set compacts its level 0 at every flush, a large one not",
          "[backend]") {
  // docs/STORAGE.md "Overwritten records": while the stale-memtable flush fires (a key set
  // that fits a memtable), each flushed copy of the keys goes into level 1 at once instead of
  // piling up in level 0; once the column has grown well past that key set (here past
  // latest_hot_set_max_entries too), RocksDB's own trigger (4) is back.
  TempDir dir;
  BackendOptions o;
  o.sync = false;
  o.latest_hot_set_max_entries = 50000;
  std::mutex compacted_mutex;
  std::condition_variable compacted;
  o.hooks.after_compaction = [&] {
    std::lock_guard lock(compacted_mutex);
    compacted.notify_all();
  };
  SettledBackend b(dir.str(), o);
  REQUIRE(*b->level0_compaction_trigger(Column::latest) == 4);
  for (int round = 0; round < 400; ++round) {  // 100 keys, 40,000 entries: two flushes or more
    WriteBatch batch(*b);
    for (int k = 0; k < 100; ++k)
      batch.put(Column::latest, "key/" + std::to_string(1000 + k), "v" + std::to_string(round));
    b.write_settled(batch);
  }
  CHECK(*b->level0_compaction_trigger(Column::latest) == 1);
  CHECK(*b->level0_compaction_trigger(Column::kv) == 4);  // the other columns keep theirs
  // The compactions run in the background: wait, woken by each one that ends, for level 0 to
  // empty (a deadline only so that a failure cannot hang).
  {
    std::unique_lock lock(compacted_mutex);
    compacted.wait_for(lock, std::chrono::seconds(60),
                       [&] { return *b->level0_files(Column::latest) == 0; });
  }
  CHECK(*b->level0_files(Column::latest) == 0);

  // 120,000 distinct keys more: past 50,000 below the memtable, the trigger is RocksDB's again.
  for (int i = 0; i < 120000; i += 500) {
    WriteBatch batch(*b);
    for (int k = i; k < i + 500; ++k)
      batch.put(Column::latest, "big/" + std::to_string(1000000 + k), "v");
    b.write_settled(batch);
  }
  CHECK(*b->level0_compaction_trigger(Column::latest) == 4);
  size_t seen = 0;
  REQUIRE(b->scan(Column::latest, "", "", [&](std::string_view, std::string_view) {
             ++seen;
             return true;
           }).ok());
  CHECK(seen == 100 + 120000);
}

TEST_CASE("backend: a latest memtable of new keys is not flushed early, one of erased keys is",
          "[backend]") {
  // docs/STORAGE.md "Overwritten records": 60,000 keys written with put_new (keys created)
  // hold nothing overwritten, so the column keeps them in its memtable, where the same
  // writes made with put() are flushed at 16,384 entries and then in a geometric series
  // ("a latest column of many distinct keys ..." below). Erasing them leaves only dead
  // records: that memtable is flushed.
  TempDir dir;
  BackendOptions o;
  o.sync = false;
  auto b = open_backend(dir.str(), o);
  constexpr int kKeys = 60000, kPerBatch = 500;
  auto key = [](int k) { return std::to_string(100000 + k); };
  for (int i = 0; i < kKeys; i += kPerBatch) {
    WriteBatch batch(*b);
    for (int k = i; k < i + kPerBatch; ++k)
      batch.put_new(Column::latest, "key/", key(k), "v");
    REQUIRE(batch.latest_new_keys() == kPerBatch);
    REQUIRE(b->write(batch).ok());
  }
  CHECK(*b->active_memtable_entries(Column::latest) == kKeys);
  CHECK(*b->level0_files(Column::latest) == 0);
  CHECK(b->latest_flushes().overwrites == 0);
  for (int i = 0; i < kKeys; i += kPerBatch) {
    WriteBatch batch(*b);
    for (int k = i; k < i + kPerBatch; ++k)
      batch.erase(Column::latest, "key/" + key(k));
    REQUIRE(batch.latest_new_keys() == -kPerBatch);
    REQUIRE(b->write(batch).ok());
  }
  // Flushed once the erases had cancelled most of the new keys: at most the entries written
  // after that flush remain, instead of all 120,000.
  CHECK(*b->active_memtable_entries(Column::latest) < kKeys);
  CHECK(b->latest_flushes().overwrites >= 1);
  CHECK(b->latest_flushes().idle == 0);
  size_t seen = 0;
  REQUIRE(b->scan(Column::latest, "key/", "key0", [&](std::string_view, std::string_view) {
             ++seen;
             return true;
           }).ok());
  CHECK(seen == 0);
}

TEST_CASE("backend: new keys a flush took below no longer hold back the flush of overwrites",
          "[backend]") {
  // 10,000 new keys, then a flush (Backend::flush: the seal of the memtable that holds them),
  // then 30,000 overwrites of 100 keys: the overwrites are flushed at 16,384 entries as if
  // the new keys had never been counted. Counted still, they would put that off to 26,384.
  TempDir dir;
  BackendOptions o;
  o.sync = false;
  SettledBackend b(dir.str(), o);
  WriteBatch fresh(*b);
  for (int k = 0; k < 10000; ++k)
    fresh.put_new(Column::latest, "new/", std::to_string(100000 + k), "v");
  b.write_settled(fresh);
  REQUIRE(b->flush().ok());
  REQUIRE(*b->active_memtable_entries(Column::latest) == 0);
  uint64_t most = 0;
  for (int round = 0; round < 300; ++round) {
    WriteBatch batch(*b);
    for (int k = 0; k < 100; ++k)
      batch.put(Column::latest, "key/" + std::to_string(1000 + k), "v" + std::to_string(round));
    b.write_settled(batch);
    most = std::max(most, *b->active_memtable_entries(Column::latest));
  }
  // At most the minimum plus what one check interval adds.
  CHECK(most < 16384 + 4096 + 100);
}

TEST_CASE("backend: a batch counts its new latest keys through append, clear and assign",
          "[backend]") {
  TempDir dir;
  auto b = open_backend(dir.str());
  WriteBatch one(*b);
  one.put_new(Column::latest, "p/", "a", "1");
  one.put_new(Column::latest, "p/", "b", "1");
  one.put(Column::latest, "p/", "c", "2");  // an overwrite: not counted
  one.put_new(Column::kv, "p/", "d", "1");  // another column: not counted
  CHECK(one.latest_new_keys() == 2);
  WriteBatch two(*b);
  two.erase(Column::latest, "p/a");
  two.erase(Column::kv, "p/d");
  CHECK(two.latest_new_keys() == -1);
  one.append(two);
  CHECK(one.latest_new_keys() == 1);
  CHECK(one.count() == 6);
  // A batch rebuilt from bytes (a Raft entry) counts what it is told the original counted:
  // nothing, unless the caller passes the count along.
  WriteBatch copy(*b);
  copy.assign(one.data());
  CHECK(copy.count() == 6);
  CHECK(copy.latest_new_keys() == 0);
  copy.assign(one.data(), one.latest_new_keys());
  CHECK(copy.count() == 6);
  CHECK(copy.latest_new_keys() == 1);
  // A count from elsewhere is bounded by the batch's operations.
  copy.assign(one.data(), std::numeric_limits<int64_t>::max());
  CHECK(copy.latest_new_keys() == 6);
  copy.assign(one.data(), std::numeric_limits<int64_t>::min());
  CHECK(copy.latest_new_keys() == -6);
  one.clear();
  CHECK(one.latest_new_keys() == 0);
}

TEST_CASE("backend: an idle hot latest column flushes its overwritten records, nothing else does",
          "[backend]") {
  // docs/STORAGE.md "Overwritten records": flush_latest_if_idle() flushes only after a call
  // period without writes, only a hot key set, and only a memtable with at least 4,096
  // entries that are not records of new keys.
  TempDir dir;
  BackendOptions o;
  o.sync = false;
  SettledBackend b(dir.str(), o);
  auto overwrite_round = [&](int round) {
    WriteBatch batch(*b);
    for (int k = 0; k < 100; ++k)
      batch.put(Column::latest, "key/" + std::to_string(1000 + k), "v" + std::to_string(round));
    b.write_settled(batch);
  };
  // Not a hot key set yet (RocksDB's trigger): 8,000 overwrites stay where they are.
  int round = 0;
  for (; round < 80; ++round)
    overwrite_round(round);
  REQUIRE(*b->level0_compaction_trigger(Column::latest) == 4);
  CHECK_FALSE(*b->flush_latest_if_idle());  // written since the last look
  CHECK_FALSE(*b->flush_latest_if_idle());  // idle, but not a hot key set
  CHECK(*b->active_memtable_entries(Column::latest) == 8000);
  // A hot key set (two stale flushes and more), then rounds until its memtable holds 5,000
  // entries or more again.
  for (; round < 400; ++round)
    overwrite_round(round);
  REQUIRE(*b->level0_compaction_trigger(Column::latest) == 1);
  while (*b->active_memtable_entries(Column::latest) < 5000)
    overwrite_round(round++);
  CHECK_FALSE(*b->flush_latest_if_idle());  // written since the last look
  const auto idle_before = b->latest_flushes().idle;
  CHECK(*b->flush_latest_if_idle());
  CHECK(b->latest_flushes().idle == idle_before + 1);
  CHECK(*b->active_memtable_entries(Column::latest) == 0);
  CHECK_FALSE(*b->flush_latest_if_idle());  // nothing left to flush
  // New keys are not overwritten records: 5,000 of them stay.
  WriteBatch fresh(*b);
  for (int k = 0; k < 5000; ++k)
    fresh.put_new(Column::latest, "new/", std::to_string(100000 + k), "v");
  b.write_settled(fresh);
  CHECK_FALSE(*b->flush_latest_if_idle());
  CHECK_FALSE(*b->flush_latest_if_idle());
  CHECK(*b->active_memtable_entries(Column::latest) == 5000);
  // Every key still reads its newest value.
  size_t seen = 0;
  REQUIRE(b->scan(Column::latest, "key/", "key0", [&](std::string_view, std::string_view v) {
             CHECK(v == "v" + std::to_string(round - 1));
             ++seen;
             return true;
           }).ok());
  CHECK(seen == 100);
}

TEST_CASE("backend: a latest column of many distinct keys reads every key across its flushes",
          "[backend]") {
  // 60,000 distinct keys written once: flushed only while the memtable holds more than what
  // lies below it (after about 16,384 entries, then 16,384 more, then 32,768 more), never at
  // every check.
  TempDir dir;
  BackendOptions o;
  o.sync = false;
  auto b = open_backend(dir.str(), o);
  for (int i = 0; i < 60000; i += 500) {
    WriteBatch batch(*b);
    for (int k = i; k < i + 500; ++k)
      batch.put(Column::latest, "key/" + std::to_string(100000 + k), "v");
    REQUIRE(b->write(batch).ok());
    // Its early flushes add everything they held below: no overwrites, so level 0 keeps
    // RocksDB's own compaction trigger all along.
    REQUIRE(*b->level0_compaction_trigger(Column::latest) == 4);
  }
  auto entries = b->active_memtable_entries(Column::latest);
  REQUIRE(entries.ok());
  CHECK(*entries > 0);
  CHECK(*entries < 60000 - 16384);
  size_t seen = 0;
  REQUIRE(b->scan(Column::latest, "key/", "key0", [&](std::string_view, std::string_view) {
             ++seen;
             return true;
           }).ok());
  CHECK(seen == 60000);
}

// A cluster member does not sync its WAL per write; without write-back in steps, a memtable
// switch synced the whole closed WAL at once and stalled every fsync on the disk for 30-40 ms
// (docs/STORAGE.md "Write-back in 1 MiB steps").
TEST_CASE("backend: RocksDB writes back the WAL and new tables every MiB", "[backend]") {
  const auto db = rocksdb_db_options(BackendOptions{});
  CHECK(db.wal_bytes_per_sync == (1u << 20));
  CHECK(db.bytes_per_sync == (1u << 20));
}

// The `latest` column is read by scans and gets 16 KiB blocks; the other columns keep
// RocksDB's 4 KiB (docs/STORAGE.md "Table blocks"). The block sizes are read back from the
// OPTIONS file RocksDB wrote for the database, i.e. what it opened the columns with; that
// every column shares one block cache, from the open columns themselves.
TEST_CASE("backend: the latest column's tables have 16 KiB blocks, the others 4 KiB", "[backend]") {
  STATIC_REQUIRE(kLatestBlockBytes == 16384);
  TempDir dir;
  {
    auto b = Backend::open(dir.str(), BackendOptions{});
    REQUIRE(b.ok());
    std::shared_ptr<rocksdb::Cache> cache;
    for (size_t i = 0; i < kColumnCount; ++i) {
      rocksdb::ColumnFamilyDescriptor open;
      REQUIRE((*b)->column_handles()[i]->GetDescriptor(&open).ok());
      const auto* table = open.options.table_factory->GetOptions<rocksdb::BlockBasedTableOptions>();
      REQUIRE(table != nullptr);
      REQUIRE(table->block_cache != nullptr);
      if (i == 0) cache = table->block_cache;
      CHECK(table->block_cache == cache);
    }
    REQUIRE((*b)->close().ok());
  }
  rocksdb::ConfigOptions config;
  rocksdb::DBOptions db;
  std::vector<rocksdb::ColumnFamilyDescriptor> columns;
  REQUIRE(rocksdb::LoadLatestOptions(config, dir.str(), &db, &columns).ok());
  std::map<std::string, size_t> block_size;
  for (const auto& column : columns) {
    const auto* table = column.options.table_factory->GetOptions<rocksdb::BlockBasedTableOptions>();
    REQUIRE(table != nullptr);
    block_size[column.name] = table->block_size;
  }
  CHECK(block_size.at("latest") == kLatestBlockBytes);
  for (const char* name : {"default", "kv", "meta", "lease", "auth"})
    CHECK(block_size.at(name) == 4096);
}

TEST_CASE("history: a replicated compaction schedule never goes back", "[backend][compaction]") {
  // A cluster member applies compaction entries in log order; one at or below the schedule it
  // holds (two leaders each proposed one before the other's applied) changes nothing.
  TempDir dir;
  auto b = open_backend(dir.str());
  CHECK(read_compaction_schedule(*b).value() == std::nullopt);
  auto staged_at = [&](int64_t revision) {
    WriteBatch batch(*b);
    auto staged = stage_compaction_schedule_if_newer(batch, *b, revision);
    REQUIRE(staged.ok());
    REQUIRE(b->write(batch, false).ok());
    return *staged;
  };
  CHECK(staged_at(10));
  CHECK(read_compaction_schedule(*b).value() == 10);
  CHECK_FALSE(staged_at(10));
  CHECK_FALSE(staged_at(4));
  CHECK(read_compaction_schedule(*b).value() == 10);
  CHECK(staged_at(12));
  CHECK(read_compaction_schedule(*b).value() == 12);
}
