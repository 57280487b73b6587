#pragma once

// The RocksDB backend: one database with the column families kv, meta, lease, auth and
// latest (the key-ordered copy of every live key's newest record, storage/latest.hpp).
// Owns the options (block cache, compression, WAL sync), atomic batch writes, point reads,
// ordered scans, checkpoints, manual compaction (defragment) and size reporting. RocksDB
// failures come back as storage errors carrying RocksDB's message.

#include "storage/error.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rocksdb {
class ColumnFamilyHandle;
class Env;
class Statistics;
class WriteBatch;
}  // namespace rocksdb

namespace revkv::storage {

enum class Column : uint8_t { kv = 0, meta = 1, lease = 2, auth = 3, latest = 4 };
inline constexpr size_t kColumnCount = 5;
// The columns hash_all covers: the authoritative ones. `latest` is derived from kv (and laid
// out per shard), so two stores with the same history hash alike whatever their shard count.
inline constexpr size_t kHashedColumnCount = 4;

enum class Compression : uint8_t { none, snappy, lz4, zstd };

// Points where a test can observe or hold the backend (empty in production). Each runs on
// the thread that calls the backend, except the last two.
struct BackendHooks {
  // Just before each WAL fsync: a write with sync, or sync_wal().
  std::function<void()> before_sync;
  // Inside size(), once it holds the database open and before it reads from it.
  std::function<void()> while_sizing;
  // Inside close(), when it finds size() calls in progress and is about to wait for them.
  std::function<void()> close_waits_for_readers;
  // After each RocksDB compaction job ends, and after each flush job ends: these two run on
  // RocksDB's background threads, so that a test can wait for them on a condition instead of
  // polling.
  std::function<void()> after_compaction;
  std::function<void()> after_flush;
};

struct BackendOptions {
  bool create_if_missing = true;
  // fsync the WAL on every write. Off: a crash of the machine (not of the process) may
  // lose the newest acknowledged writes.
  bool sync = true;
  bool disable_wal = false;  // for benchmarks that want the raw memtable path only
  uint64_t block_cache_bytes = 64ull << 20;
  uint64_t write_buffer_bytes = 64ull << 20;
  Compression compression = Compression::lz4;
  // The environment RocksDB does its file I/O through; null: the default (POSIX) one.
  // Only tests set it: the power-loss test passes a file system that forgets what was not
  // fsynced (tests/powerloss/power_cut_fs.hpp). Shared, because it must outlive the
  // database and the test inspects it after the database is closed.
  std::shared_ptr<rocksdb::Env> env = nullptr;
  // RocksDB's statistics object; null (none, the default) in production. With one, RocksDB
  // also counts the bytes iterators hand out in its perf context (iter_read_bytes), which
  // tests use to see what a range read.
  std::shared_ptr<rocksdb::Statistics> statistics = nullptr;
  BackendHooks hooks{};
  // The `latest` column compacts its level 0 at every flush while its key set fits a memtable
  // (docs/STORAGE.md "Overwritten records"), until more than this many entries lie below its
  // memtable. Only tests lower it.
  uint64_t latest_hot_set_max_entries = 1u << 20;
};

// The `latest` column's flushes the backend asked for itself (docs/STORAGE.md "Overwritten
// records"); RocksDB's own flushes of full memtables are not counted.
struct LatestFlushes {
  uint64_t overwrites = 0;  // early: the active memtable was mostly overwritten records
  uint64_t idle = 0;        // an idle store's overwritten records (flush_latest_if_idle)
};

struct BackendSize {
  uint64_t total_bytes = 0;   // SST files (live and not yet deleted) plus memtables
  uint64_t in_use_bytes = 0;  // estimated live data plus memtables
};

class Backend;

// An atomic group of writes for one backend (it names that backend's column families).
class WriteBatch {
 public:
  explicit WriteBatch(const Backend& backend);
  ~WriteBatch();
  WriteBatch(WriteBatch&&) noexcept;
  WriteBatch& operator=(WriteBatch&&) noexcept;

  void put(Column column, std::string_view key, std::string_view value);
  // put() of the key `prefix` + `key`, without building the concatenation first.
  void put(Column column, std::string_view prefix, std::string_view key, std::string_view value);
  // put() of a key that `column` holds no record of: a key created, or a column being filled
  // anew. In the `latest` column the backend counts these apart from overwrites: a memtable
  // that holds mostly new keys has no overwritten records for an early flush to drop
  // (docs/STORAGE.md "Overwritten records").
  void put_new(Column column, std::string_view prefix, std::string_view key,
               std::string_view value);
  void erase(Column column, std::string_view key);
  // Deletes every key of `column` in [from, to).
  void erase_range(Column column, std::string_view from, std::string_view to);
  void clear();
  // Appends every operation of `other` (a batch of the same backend), so that a group of
  // batches is written with one RocksDB write.
  void append(const WriteBatch& other);
  size_t count() const;
  size_t byte_size() const;
  // The live records of new keys this batch leaves in the `latest` column: its put_new()s
  // there minus its erase()s there (an erase kills a record, new or not). Summed by
  // append(); a batch rebuilt by assign() counts what its caller says the original counted.
  int64_t latest_new_keys() const { return latest_new_keys_; }
  bool empty() const { return count() == 0; }

  // The batch's serialized form (RocksDB's own representation), and a batch rebuilt from one:
  // how a commit group travels as a Raft entry to the other members (docs/CLUSTER.md). The
  // column family ids inside are the same on every member (the columns are created in one
  // fixed order).
  // `latest_new_keys`: the original batch's latest_new_keys(), which its data does not hold
  // (a Raft entry carries it beside the data; 0 counts every put as an overwrite), bounded
  // by the batch's count().
  std::string_view data() const;
  void assign(std::string_view data, int64_t latest_new_keys = 0);
  // Calls f(key, value) for every put into `column`, in batch order.
  Status for_each_put(Column column,
                      const std::function<void(std::string_view, std::string_view)>& f) const;
  // Calls f(key) for every single-key erase in `column`, in batch order (a cluster member
  // learns from another member's commit group which lease records it removed).
  Status for_each_erase(Column column, const std::function<void(std::string_view)>& f) const;

  rocksdb::WriteBatch& raw() { return *batch_; }
  const rocksdb::WriteBatch& raw() const { return *batch_; }

 private:
  rocksdb::ColumnFamilyHandle* const* columns_;  // owned by the backend, indexed by Column
  std::unique_ptr<rocksdb::WriteBatch> batch_;
  int64_t latest_new_keys_ = 0;
};

class Backend {
 public:
  static Result<std::unique_ptr<Backend>> open(const std::string& dir, BackendOptions options);
  ~Backend();
  Backend(const Backend&) = delete;
  Backend& operator=(const Backend&) = delete;

  // Atomically applies the batch; with `sync` the WAL is fsynced before returning.
  Status write(const WriteBatch& batch, std::optional<bool> sync = std::nullopt);
  Result<std::optional<std::string>> get(Column column, std::string_view key) const;
  // Point reads of many keys of one column at once (RocksDB MultiGet, fed in key order so
  // that RocksDB walks each block once). Answers are in the order of `keys`.
  Result<std::vector<std::optional<std::string>>> multi_get(
      Column column, const std::vector<std::string>& keys) const;
  // Reads the keys `prefix` + sorted_suffixes[i] (suffixes ascending, unique) that exist, with
  // one iterator, as a scan: Next while the next wanted key is near, Seek when it is not.
  // Calls f(i, value) for each one found, in order; the value is valid during the call only.
  Status read_sorted(Column column, std::string_view prefix,
                     const std::vector<std::string_view>& sorted_suffixes,
                     const std::function<void(size_t, std::string_view)>& f) const;
  // Calls f(key, value) for the keys in [from, to) (to empty: no upper bound), in order,
  // until f returns false.
  Status scan(Column column, std::string_view from, std::string_view to,
              const std::function<bool(std::string_view, std::string_view)>& f) const;
  // Calls f for the keys in [from, to) newest first (reverse order).
  Status scan_reverse(Column column, std::string_view from, std::string_view to,
                      const std::function<bool(std::string_view, std::string_view)>& f) const;

  // Maintenance.Hash: a CRC-32C over the authoritative column families in order (kv, meta,
  // lease, auth; not the derived `latest`),
  // of each one's name and then, per entry, key length, key, value length and value, all
  // read at one snapshot. Two backends with the same contents have the same hash.
  Result<uint32_t> hash_all() const;

  // Lifetime: the node's actors call the backend only while it is open (Node::stop stops
  // them before close()). size() is the exception: the metrics scrape calls it from its own
  // threads at any time, shutdown included. So size() may run concurrently with close():
  // close() waits for the size() calls in progress, and a size() after close() (or
  // concurrent with it) returns an error instead of touching the closed database.
  Status flush();
  // Entries (puts and deletes, old versions included) in a column's active memtable.
  Result<uint64_t> active_memtable_entries(Column column) const;
  // A column's memtables sealed and not yet flushed (flushes in flight).
  Result<uint64_t> immutable_memtables(Column column) const;
  // A column's level-0 files, and how many of them start a compaction into level 1 now.
  Result<uint64_t> level0_files(Column column) const;
  Result<int> level0_compaction_trigger(Column column) const;
  // fsyncs the WAL: every write returned before is durable afterwards. Group commit is
  // many write(batch, sync=false) followed by one sync_wal().
  Status sync_wal();
  // Full manual compaction of every column family (etcd's defragment).
  Status defragment();
  // Flushes one column and compacts all of it into the bottom level, where range tombstones
  // are dropped.
  Status compact_column(Column column);
  // Called periodically (the node: every second, by the backend actor). When nothing was
  // written since the previous call, and the `latest` column is a hot key set (its level 0
  // compacts at every flush) whose active memtable holds at least 4,096 entries that are
  // not records of new keys, flushes that memtable in the background: an idle store's
  // ranges then scan one sorted run instead of stepping over overwritten records
  // (docs/STORAGE.md "Overwritten records"). True if it flushed.
  Result<bool> flush_latest_if_idle();
  // Safe from any thread at any time (atomic counters; the node's metrics read them).
  LatestFlushes latest_flushes() const;
  // Safe from any thread at any time, concurrently with close() (see above).
  Result<BackendSize> size() const;
  // A consistent, openable copy of the database in `dir` (which must not exist).
  Status checkpoint(const std::string& dir) const;
  // Waits for the size() calls in progress, then closes. Idempotent.
  Status close();

  const std::string& path() const { return path_; }
  rocksdb::ColumnFamilyHandle* const* column_handles() const;

 private:
  struct Impl;
  Backend(std::unique_ptr<Impl> impl, std::string path);
  std::unique_ptr<Impl> impl_;
  std::string path_;
};

}  // namespace revkv::storage
