#include "storage/backend.hpp"

#include "storage/crc32c.hpp"
#include "storage/rocksdb_options.hpp"

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/listener.h>
#include <rocksdb/metadata.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/utilities/checkpoint.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

namespace revkv::storage {
namespace {

constexpr std::array<const char*, kColumnCount> kColumnNames = {"kv", "meta", "lease", "auth",
                                                                "latest"};

Error to_error(const rocksdb::Status& s) {
  Errc code = s.IsCorruption()                              ? Errc::corruption
              : s.IsInvalidArgument() || s.IsNotSupported() ? Errc::invalid_argument
                                                            : Errc::io_error;
  return Error{code, "rocksdb: " + s.ToString()};
}

rocksdb::Slice slice(std::string_view s) {
  return {s.data(), s.size()};
}
std::string_view view(const rocksdb::Slice& s) {
  return {s.data(), s.size()};
}

}  // namespace

// -- WriteBatch -------------------------------------------------------------------------------

WriteBatch::WriteBatch(const Backend& backend)
    : columns_(backend.column_handles()), batch_(std::make_unique<rocksdb::WriteBatch>()) {}
WriteBatch::~WriteBatch() = default;
WriteBatch::WriteBatch(WriteBatch&&) noexcept = default;
WriteBatch& WriteBatch::operator=(WriteBatch&&) noexcept = default;

void WriteBatch::put(Column column, std::string_view key, std::string_view value) {
  // rocksdb::WriteBatch::Put only fails for sizes over 4 GiB, which requests never reach
  // (they are bounded by max_request_bytes long before).
  auto s = batch_->Put(columns_[static_cast<size_t>(column)], slice(key), slice(value));
  (void)s;
}

void WriteBatch::put(Column column, std::string_view prefix, std::string_view key,
                     std::string_view value) {
  std::array<rocksdb::Slice, 2> key_parts = {slice(prefix), slice(key)};
  rocksdb::Slice value_part = slice(value);
  auto s =
      batch_->Put(columns_[static_cast<size_t>(column)], rocksdb::SliceParts(key_parts.data(), 2),
                  rocksdb::SliceParts(&value_part, 1));
  (void)s;
}

void WriteBatch::put_new(Column column, std::string_view prefix, std::string_view key,
                         std::string_view value) {
  put(column, prefix, key, value);
  if (column == Column::latest) ++latest_new_keys_;
}

void WriteBatch::erase(Column column, std::string_view key) {
  auto s = batch_->Delete(columns_[static_cast<size_t>(column)], slice(key));
  (void)s;
  if (column == Column::latest) --latest_new_keys_;
}

void WriteBatch::erase_range(Column column, std::string_view from, std::string_view to) {
  auto s = batch_->DeleteRange(columns_[static_cast<size_t>(column)], slice(from), slice(to));
  (void)s;
}

void WriteBatch::clear() {
  batch_->Clear();
  latest_new_keys_ = 0;
}

namespace {

// Replays a batch's operations into another one. rocksdb::WriteBatch has no public append;
// its Handler is the supported way to read a batch's records.
class AppendTo : public rocksdb::WriteBatch::Handler {
 public:
  AppendTo(rocksdb::WriteBatch& out, rocksdb::ColumnFamilyHandle* const* columns)
      : out_(out), columns_(columns) {}

  rocksdb::Status PutCF(uint32_t id, const rocksdb::Slice& key,
                        const rocksdb::Slice& value) override {
    return out_.Put(column(id), key, value);
  }
  rocksdb::Status DeleteCF(uint32_t id, const rocksdb::Slice& key) override {
    return out_.Delete(column(id), key);
  }
  rocksdb::Status SingleDeleteCF(uint32_t id, const rocksdb::Slice& key) override {
    return out_.SingleDelete(column(id), key);
  }
  rocksdb::Status DeleteRangeCF(uint32_t id, const rocksdb::Slice& begin,
                                const rocksdb::Slice& end) override {
    return out_.DeleteRange(column(id), begin, end);
  }
  rocksdb::Status MergeCF(uint32_t id, const rocksdb::Slice& key,
                          const rocksdb::Slice& value) override {
    return out_.Merge(column(id), key, value);
  }

 private:
  rocksdb::ColumnFamilyHandle* column(uint32_t id) const {
    for (size_t i = 0; i < kColumnCount; ++i) {
      if (columns_[i]->GetID() == id) return columns_[i];
    }
    return columns_[0];  // unreachable: every batch is built with this backend's columns
  }

  rocksdb::WriteBatch& out_;
  rocksdb::ColumnFamilyHandle* const* columns_;
};

}  // namespace

void WriteBatch::append(const WriteBatch& other) {
  AppendTo handler(*batch_, columns_);
  auto s = other.batch_->Iterate(&handler);
  (void)s;  // only a corrupt in-memory batch could fail, and batches are built here
  latest_new_keys_ += other.latest_new_keys_;
}
std::string_view WriteBatch::data() const {
  return batch_->Data();
}

void WriteBatch::assign(std::string_view data, int64_t latest_new_keys) {
  *batch_ = rocksdb::WriteBatch(std::string(data));
  // The count came from elsewhere (a peer's Raft entry): no batch has more new keys, or more
  // erases, than operations.
  const auto ops = static_cast<int64_t>(count());
  latest_new_keys_ = std::clamp(latest_new_keys, -ops, ops);
}

namespace {

// Reads the puts of one column family; every other operation is ignored.
class PutsOf : public rocksdb::WriteBatch::Handler {
 public:
  PutsOf(uint32_t id, const std::function<void(std::string_view, std::string_view)>& f)
      : id_(id), f_(f) {}
  rocksdb::Status PutCF(uint32_t id, const rocksdb::Slice& key,
                        const rocksdb::Slice& value) override {
    if (id == id_) f_(view(key), view(value));
    return rocksdb::Status::OK();
  }
  rocksdb::Status DeleteCF(uint32_t, const rocksdb::Slice&) override {
    return rocksdb::Status::OK();
  }
  rocksdb::Status SingleDeleteCF(uint32_t, const rocksdb::Slice&) override {
    return rocksdb::Status::OK();
  }
  rocksdb::Status DeleteRangeCF(uint32_t, const rocksdb::Slice&, const rocksdb::Slice&) override {
    return rocksdb::Status::OK();
  }
  rocksdb::Status MergeCF(uint32_t, const rocksdb::Slice&, const rocksdb::Slice&) override {
    return rocksdb::Status::OK();
  }

 private:
  uint32_t id_;
  const std::function<void(std::string_view, std::string_view)>& f_;
};

// Reads the single-key erases of one column family; every other operation is ignored.
class ErasesOf : public rocksdb::WriteBatch::Handler {
 public:
  ErasesOf(uint32_t id, const std::function<void(std::string_view)>& f) : id_(id), f_(f) {}
  rocksdb::Status PutCF(uint32_t, const rocksdb::Slice&, const rocksdb::Slice&) override {
    return rocksdb::Status::OK();
  }
  rocksdb::Status DeleteCF(uint32_t id, const rocksdb::Slice& key) override {
    if (id == id_) f_(view(key));
    return rocksdb::Status::OK();
  }
  rocksdb::Status SingleDeleteCF(uint32_t id, const rocksdb::Slice& key) override {
    return DeleteCF(id, key);
  }
  rocksdb::Status DeleteRangeCF(uint32_t, const rocksdb::Slice&, const rocksdb::Slice&) override {
    return rocksdb::Status::OK();
  }
  rocksdb::Status MergeCF(uint32_t, const rocksdb::Slice&, const rocksdb::Slice&) override {
    return rocksdb::Status::OK();
  }

 private:
  uint32_t id_;
  const std::function<void(std::string_view)>& f_;
};

}  // namespace

Status WriteBatch::for_each_erase(Column column,
                                  const std::function<void(std::string_view)>& f) const {
  ErasesOf handler(columns_[static_cast<size_t>(column)]->GetID(), f);
  auto s = batch_->Iterate(&handler);
  if (!s.ok()) return to_error(s);
  return {};
}

Status WriteBatch::for_each_put(
    Column column, const std::function<void(std::string_view, std::string_view)>& f) const {
  PutsOf handler(columns_[static_cast<size_t>(column)]->GetID(), f);
  auto s = batch_->Iterate(&handler);
  if (!s.ok()) return to_error(s);
  return {};
}

size_t WriteBatch::count() const {
  return static_cast<size_t>(batch_->Count());
}
size_t WriteBatch::byte_size() const {
  return batch_->GetDataSize();
}

// -- Backend ----------------------------------------------------------------------------------

namespace {

// RocksDB's background jobs fail on their own threads: a flush syncing the closed WAL files
// (with --sync interval or never they are synced there) marks that WAL writer as failed, and
// the error never passes a status this backend sees. The next SyncWAL() would then reach the
// failed writer, where Debian's assertion-enabled RocksDB aborts the process instead of
// answering an error. Told of the background error, the backend refuses further syncs and
// writes as after a failed write of its own (a store whose background writes fail must be
// reopened anyway). RocksDB notifies listeners right after the failing job, so only a sync
// started in between can still reach the writer.
class BackgroundErrorListener final : public rocksdb::EventListener {
 public:
  explicit BackgroundErrorListener(std::shared_ptr<std::atomic<bool>> failed)
      : failed_(std::move(failed)) {}
  void OnBackgroundError(rocksdb::BackgroundErrorReason, rocksdb::Status* error) override {
    if (error != nullptr && !error->ok()) failed_->store(true);
  }

 private:
  std::shared_ptr<std::atomic<bool>> failed_;
};

// Tells BackendHooks::after_compaction and after_flush (tests only) that a job ended.
class JobHookListener final : public rocksdb::EventListener {
 public:
  explicit JobHookListener(const BackendHooks& hooks)
      : after_compaction_(hooks.after_compaction), after_flush_(hooks.after_flush) {}
  void OnCompactionCompleted(rocksdb::DB*, const rocksdb::CompactionJobInfo&) override {
    if (after_compaction_) after_compaction_();
  }
  void OnFlushCompleted(rocksdb::DB*, const rocksdb::FlushJobInfo&) override {
    if (after_flush_) after_flush_();
  }

 private:
  std::function<void()> after_compaction_;
  std::function<void()> after_flush_;
};

// Counts the memtables of the `latest` column that RocksDB sealed (switched for a flush),
// whoever asked for it: the backend's count of new keys in the active memtable is only
// good until then.
class LatestSealedListener final : public rocksdb::EventListener {
 public:
  explicit LatestSealedListener(std::shared_ptr<std::atomic<uint64_t>> sealed)
      : sealed_(std::move(sealed)) {}
  void OnMemTableSealed(const rocksdb::MemTableInfo& info) override {
    if (info.cf_name == kColumnNames[static_cast<size_t>(Column::latest)]) sealed_->fetch_add(1);
  }

 private:
  std::shared_ptr<std::atomic<uint64_t>> sealed_;
};

}  // namespace

struct Backend::Impl {
  BackendOptions options;
  std::unique_ptr<rocksdb::DB> db;
  std::array<rocksdb::ColumnFamilyHandle*, kColumnCount> columns{};
  rocksdb::ColumnFamilyHandle* default_column = nullptr;
  // Set once by close(); atomic because size() reads it from other threads.
  std::atomic<bool> closed{false};
  // A write or sync failed with an I/O error: RocksDB's WAL writer is unusable from then on
  // (its debug builds, Debian's among them, assert when it is used again), so every later
  // write, sync, flush or compaction is refused here. The node treats the first failure as
  // fatal; this matters when it is shut down instead (the power-loss test, Node::stop).
  std::atomic<bool> failed{false};
  // A background job (flush, compaction) failed: set by BackgroundErrorListener.
  std::shared_ptr<std::atomic<bool>> background_failed = std::make_shared<std::atomic<bool>>();

  // Checks a RocksDB status of a write path, remembering an I/O failure.
  Status written(const rocksdb::Status& s) {
    if (s.ok()) return {};
    if (s.IsIOError()) failed.store(true);
    return to_error(s);
  }
  // Serializes the WAL's writers (write, sync_wal) with the check of `failed`: once one of
  // them fails, no other may reach RocksDB's WAL writer, which Debian's assertion-enabled
  // build aborts on after an error. Uncontended in the node: the backend actor writes the
  // commit groups; the lessor and the maintenance actor write rarely. RocksDB serializes
  // WAL writes itself, so this costs no concurrency.
  std::mutex wal_mutex;
  // Operations written since flush_stale_latest() last looked (guarded by wal_mutex).
  uint64_t ops_since_latest_check = 0;
  // Records of new keys in the active `latest` memtable (WriteBatch::latest_new_keys of the
  // batches written since it was sealed, an erase taking one back, never below 0; guarded by
  // wal_mutex), and the count of sealed memtables (LatestSealedListener) it was last reset
  // at. It counts a batch only when no seal came between the write's start and the count,
  // and an overwrite of a key created in the same memtable does not take its record back:
  // an estimate that errs towards fewer new keys, i.e. towards the flushes made without it.
  int64_t latest_new_in_active = 0;
  uint64_t latest_seals_counted = 0;
  std::shared_ptr<std::atomic<uint64_t>> latest_sealed;  // set by open(), shared with its listener

  // The `latest` column is overwritten on every put of a key, and the old records stay in the
  // memtable, where an iterator steps over each of them (a RocksDB iterator skips a key's
  // hidden versions one by one, then re-seeks). A small set of hot keys thus fills a 64 MiB
  // memtable with dozens of versions per key, and latest-revision ranges became 4-5x slower
  // after a write load than on fresh data (docs/STORAGE.md "Overwritten records"). A flush
  // keeps one record per key, so the column is flushed once its active memtable holds more
  // entries than are stored below it (and at least a minimum): a working set that fits the
  // memtable many times over. (Twice as many left up to 8 versions per key with the level-0
  // files' copies counted below, and ranges only half as fast.) A large key space never gets
  // there before the memtable fills and flushes on its own: no extra flushes or compactions.
  //
  // The flushed files then pile up in level 0 (RocksDB compacts them into level 1 four at a
  // time), each with a copy of most hot keys, and an iterator merges every copy: a LIST after
  // a put load over a small key set cost about twice the CPU (docs/BENCHMARKS.md). So when a
  // flush shows that the memtable was mostly overwrites — what it left below grew by less
  // than half of the entries it held — level 0 is compacted at every flush from then on. A
  // first load of distinct keys never shows that (each early flush adds all it held), and a
  // column grown to more than twice the last such flush's memtable, or past
  // latest_hot_set_max_entries, goes back to RocksDB's four: there each flush of random keys
  // would rewrite all of level 1.
  //
  // A memtable's records of keys first written into it — a first load of distinct keys, a
  // column being filled anew — hide nothing for a flush to drop. Flushed early, such a
  // memtable only left level-0 files in a geometric series that every range merged with the
  // memtable until RocksDB compacted them. So the rule counts the other entries only: the
  // active memtable's entries minus its records of new keys.
  //
  // `seals_before`: latest_sealed as read before the batch was written. A seal since then
  // (by this write, or by a flush, compaction or checkpoint on another thread) may have put
  // the batch below: it is then not counted.
  void flush_stale_latest(uint64_t ops_written, int64_t new_keys, uint64_t seals_before) {
    ++writes_since_idle_check;
    count_latest_seals();
    if (latest_seals_counted == seals_before)
      latest_new_in_active = std::max<int64_t>(0, latest_new_in_active + new_keys);
    ops_since_latest_check += ops_written;
    if (ops_since_latest_check < kLatestCheckEveryOps) return;
    ops_since_latest_check = 0;
    const auto shape = latest_shape();
    if (!shape) return;
    const uint64_t below = shape->below;
    if (below > 2 * last_stale_flush.active || below > options.latest_hot_set_max_entries)
      compact_latest_level0_each_flush(false);
    if (shape->others < kLatestFlushMinEntries || shape->others <= below) return;
    const bool overwrites =
        last_stale_flush.active > 0 && below < last_stale_flush.below + last_stale_flush.active / 2;
    if (overwrites && below <= options.latest_hot_set_max_entries)
      compact_latest_level0_each_flush(true);
    last_stale_flush = {shape->active, below};
    // A failure refuses later writes, not this one.
    if (flush_latest_in_background()) overwrite_flushes.fetch_add(1, std::memory_order_relaxed);
  }
  // The `latest` column as both flush rules see it.
  struct LatestShape {
    uint64_t active = 0;  // entries in the active memtable
    uint64_t below = 0;   // RocksDB's estimate of the keys stored below it
    uint64_t others = 0;  // the active memtable's entries that are not records of new keys
  };
  std::optional<LatestShape> latest_shape() {
    auto* latest = cf(Column::latest);
    uint64_t active = 0, all = 0;
    if (!db->GetIntProperty(latest, rocksdb::DB::Properties::kNumEntriesActiveMemTable, &active) ||
        !db->GetIntProperty(latest, rocksdb::DB::Properties::kEstimateNumKeys, &all))
      return std::nullopt;
    return LatestShape{active, all > active ? all - active : 0,
                       active - std::min(active, latest_new_entries())};
  }
  // Switches the `latest` column's memtable now and writes it in the background, never
  // waiting here for a write stall to clear.
  bool flush_latest_in_background() {
    rocksdb::FlushOptions flush;
    flush.wait = false;
    flush.allow_write_stall = true;
    return written(db->Flush(flush, cf(Column::latest))).ok();
  }
  // A sealed memtable took the new keys counted so far below.
  void count_latest_seals() {
    if (const uint64_t seals = latest_sealed->load(); seals != latest_seals_counted) {
      latest_seals_counted = seals;
      latest_new_in_active = 0;
    }
  }
  uint64_t latest_new_entries() const { return static_cast<uint64_t>(latest_new_in_active); }
  // Backend::flush_latest_if_idle. Only a hot key set: its flush is followed by a compaction
  // of level 0 into level 1, which leaves one sorted run (a large column's flush would only
  // add a level-0 file for every range to merge). And only when the memtable's other entries
  // are a fair share of the column, at least a quarter of what lies below: that compaction
  // rewrites all of level 1, which a few thousand records over a hot set of a million keys
  // are not worth.
  bool flush_latest_if_idle() {
    const bool idle = writes_since_idle_check == 0;
    writes_since_idle_check = 0;
    if (!idle || !latest_compacts_each_flush) return false;
    count_latest_seals();
    const auto shape = latest_shape();
    if (!shape || shape->others < kLatestIdleFlushMinEntries || shape->others < shape->below / 4)
      return false;
    if (!flush_latest_in_background()) return false;
    idle_flushes.fetch_add(1, std::memory_order_relaxed);
    return true;
  }
  // The flushes each rule asked for (Backend::latest_flushes), read by the metrics.
  std::atomic<uint64_t> overwrite_flushes{0};
  std::atomic<uint64_t> idle_flushes{0};
  // A RocksDB integer property of a column; `what` names it in the error.
  Result<uint64_t> int_property(Column column, const std::string& name, const char* what) const {
    if (closed) return Error{Errc::failed, "revkv: backend is closed"};
    uint64_t value = 0;
    if (!db->GetIntProperty(cf(column), name, &value))
      return Error{Errc::failed, std::string("revkv: RocksDB has no ") + what};
    return value;
  }
  // Sets the `latest` column's level-0 compaction trigger to 1 or back to what it opened with.
  // SetOptions writes the MANIFEST and the OPTIONS file (a few fsyncs on this writer's
  // path): only on a change, at most twice per flush. RocksDB may apply the option in memory
  // and still report a failed write, so the flag follows what the column has now. Either
  // trigger reads the same data: a failure costs speed, never an answer.
  void compact_latest_level0_each_flush(bool each_flush) {
    if (each_flush == latest_compacts_each_flush) return;
    const int trigger = each_flush ? 1 : opened_level0_trigger;
    (void)db->SetOptions(cf(Column::latest),
                         {{"level0_file_num_compaction_trigger", std::to_string(trigger)}});
    latest_compacts_each_flush =
        db->GetOptions(cf(Column::latest)).level0_file_num_compaction_trigger == 1;
  }
  // Guarded by wal_mutex, as ops_since_latest_check.
  bool latest_compacts_each_flush = false;
  int opened_level0_trigger = 4;
  struct StaleFlush {
    uint64_t active = 0;  // entries the flushed memtable held
    uint64_t below = 0;   // entries below it then
  };
  StaleFlush last_stale_flush;
  static constexpr uint64_t kLatestCheckEveryOps = 4096;
  static constexpr uint64_t kLatestFlushMinEntries = 16384;
  static constexpr uint64_t kLatestIdleFlushMinEntries = 4096;
  // Writes since flush_latest_if_idle() last looked (guarded by wal_mutex).
  uint64_t writes_since_idle_check = 0;

  Status usable() const {
    if (closed) return Error{Errc::failed, "revkv: backend is closed"};
    if (failed.load()) {
      return Error{Errc::failed, "revkv: an earlier write failed; the store must be reopened"};
    }
    if (background_failed->load()) {
      return Error{Errc::failed,
                   "revkv: a background flush or compaction failed; the store must be reopened"};
    }
    return {};
  }
  // The size() calls in progress (readers), which close() waits for.
  std::mutex readers_mutex;
  std::condition_variable readers_left;
  int readers = 0;

  rocksdb::ColumnFamilyHandle* cf(Column c) const { return columns[static_cast<size_t>(c)]; }

  // Keeps the database open while it lives; empty when the backend is closed (or closing).
  class Reader {
   public:
    explicit Reader(Impl* impl) : impl_(impl) {}
    Reader(Reader&& other) noexcept : impl_(std::exchange(other.impl_, nullptr)) {}
    Reader(const Reader&) = delete;
    Reader& operator=(const Reader&) = delete;
    Reader& operator=(Reader&&) = delete;
    ~Reader() {
      if (impl_ == nullptr) return;
      std::lock_guard lock(impl_->readers_mutex);
      if (--impl_->readers == 0) impl_->readers_left.notify_all();
    }
    explicit operator bool() const { return impl_ != nullptr; }

   private:
    Impl* impl_;
  };

  Reader enter() {
    std::lock_guard lock(readers_mutex);
    if (closed.load()) return Reader(nullptr);
    ++readers;
    return Reader(this);
  }

  void before_sync() const {
    if (options.hooks.before_sync) options.hooks.before_sync();
  }

  Status close() {
    {
      std::unique_lock lock(readers_mutex);
      if (closed.load()) return {};
      closed.store(true);  // no reader enters from now on
      if (readers > 0 && options.hooks.close_waits_for_readers) {
        options.hooks.close_waits_for_readers();
      }
      readers_left.wait(lock, [this] { return readers == 0; });
    }
    rocksdb::Status first;
    for (auto*& h : columns) {
      if (h == nullptr) continue;
      auto s = db->DestroyColumnFamilyHandle(h);
      if (first.ok()) first = s;
      h = nullptr;
    }
    if (default_column != nullptr) {
      auto s = db->DestroyColumnFamilyHandle(default_column);
      if (first.ok()) first = s;
      default_column = nullptr;
    }
    auto s = db->Close();
    if (first.ok()) first = s;
    db.reset();
    if (!first.ok()) return to_error(first);
    return {};
  }
};

Backend::Backend(std::unique_ptr<Impl> impl, std::string path)
    : impl_(std::move(impl)), path_(std::move(path)) {}

Backend::~Backend() {
  if (impl_) {
    auto s = impl_->close();
    (void)s;  // a destructor cannot report; callers who care call close() first
  }
}

rocksdb::ColumnFamilyHandle* const* Backend::column_handles() const {
  return impl_->columns.data();
}

Result<std::unique_ptr<Backend>> Backend::open(const std::string& dir, BackendOptions options) {
  rocksdb::DBOptions db_options = rocksdb_db_options(options);
  rocksdb::ColumnFamilyOptions cf_options = rocksdb_column_options(options);
  auto background_failed = std::make_shared<std::atomic<bool>>(false);
  db_options.listeners.push_back(std::make_shared<BackgroundErrorListener>(background_failed));
  auto latest_sealed = std::make_shared<std::atomic<uint64_t>>(0);
  db_options.listeners.push_back(std::make_shared<LatestSealedListener>(latest_sealed));
  if (options.hooks.after_compaction || options.hooks.after_flush)
    db_options.listeners.push_back(std::make_shared<JobHookListener>(options.hooks));

  if (!options.create_if_missing && !std::filesystem::exists(dir)) {
    return Error{Errc::invalid_argument, "revkv: data directory does not exist: " + dir};
  }

  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  descriptors.emplace_back(rocksdb::kDefaultColumnFamilyName, cf_options);
  const rocksdb::ColumnFamilyOptions latest_options = rocksdb_latest_column_options(cf_options);
  for (size_t i = 0; i < kColumnCount; ++i)
    descriptors.emplace_back(
        kColumnNames[i], static_cast<Column>(i) == Column::latest ? latest_options : cf_options);

  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  auto s = rocksdb::DB::Open(db_options, dir, descriptors, &handles, &raw);
  if (!s.ok()) return to_error(s);

  auto impl = std::make_unique<Impl>();
  impl->opened_level0_trigger = cf_options.level0_file_num_compaction_trigger;
  impl->options = options;
  impl->background_failed = std::move(background_failed);
  impl->latest_sealed = std::move(latest_sealed);
  impl->db.reset(raw);
  impl->default_column = handles[0];
  for (size_t i = 0; i < kColumnCount; ++i)
    impl->columns[i] = handles[i + 1];
  return std::unique_ptr<Backend>(new Backend(std::move(impl), dir));
}

Status Backend::write(const WriteBatch& batch, std::optional<bool> sync) {
  REVKV_TRY(impl_->usable());
  rocksdb::WriteOptions wo;
  wo.sync = sync.value_or(impl_->options.sync);
  wo.disableWAL = impl_->options.disable_wal;
  if (wo.sync && !wo.disableWAL) impl_->before_sync();
  std::lock_guard lock(impl_->wal_mutex);
  REVKV_TRY(impl_->usable());  // another writer may have failed meanwhile
  const uint64_t seals_before = impl_->latest_sealed->load();
  // The rocksdb::WriteBatch API is non-const; Write does not modify it.
  REVKV_TRY(impl_->written(impl_->db->Write(wo, const_cast<rocksdb::WriteBatch*>(&batch.raw()))));
  impl_->flush_stale_latest(batch.count(), batch.latest_new_keys(), seals_before);
  return {};
}

Result<std::optional<std::string>> Backend::get(Column column, std::string_view key) const {
  if (impl_->closed) return Error{Errc::failed, "revkv: backend is closed"};
  std::string value;
  auto s = impl_->db->Get(rocksdb::ReadOptions{}, impl_->cf(column), slice(key), &value);
  if (s.IsNotFound()) return std::optional<std::string>{};
  if (!s.ok()) return to_error(s);
  return std::optional<std::string>{std::move(value)};
}

Result<std::vector<std::optional<std::string>>> Backend::multi_get(
    Column column, const std::vector<std::string>& keys) const {
  if (impl_->closed) return Error{Errc::failed, "revkv: backend is closed"};
  // RocksDB's batched MultiGet wants its keys sorted; answers go back to the caller's order.
  std::vector<size_t> order(keys.size());
  for (size_t i = 0; i < order.size(); ++i)
    order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return keys[a] < keys[b]; });
  std::vector<rocksdb::Slice> slices;
  slices.reserve(keys.size());
  for (size_t i : order)
    slices.push_back(slice(keys[i]));
  std::vector<rocksdb::PinnableSlice> values(keys.size());
  std::vector<rocksdb::Status> statuses(keys.size());
  impl_->db->MultiGet(rocksdb::ReadOptions{}, impl_->cf(column), keys.size(), slices.data(),
                      values.data(), statuses.data(), /*sorted_input=*/true);
  std::vector<std::optional<std::string>> out(keys.size());
  for (size_t j = 0; j < order.size(); ++j) {
    if (statuses[j].IsNotFound()) continue;
    if (!statuses[j].ok()) return to_error(statuses[j]);
    out[order[j]] = values[j].ToString();
  }
  return out;
}

Status Backend::read_sorted(Column column, std::string_view prefix,
                            const std::vector<std::string_view>& sorted_suffixes,
                            const std::function<void(size_t, std::string_view)>& f) const {
  if (impl_->closed) return Error{Errc::failed, "revkv: backend is closed"};
  if (sorted_suffixes.empty()) return {};
  // Past this many unwanted entries in a row a Seek (a binary search per level) is cheaper
  // than stepping on.
  constexpr int kMaxSteps = 8;
  // One buffer for every full key built (the bound, then each Seek target): no allocation
  // per wanted key.
  std::string probe;
  auto full_key = [&](std::string_view suffix) {
    probe.assign(prefix);
    probe.append(suffix);
    return slice(probe);
  };
  std::string upper_key(prefix);
  upper_key.append(sorted_suffixes.back());
  upper_key.push_back('\0');  // the smallest key after the last wanted one
  rocksdb::Slice upper = slice(upper_key);
  rocksdb::ReadOptions ro;
  ro.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(ro, impl_->cf(column)));
  // <0, 0, >0 as the iterator's key is before, at or after prefix + suffix.
  auto compare = [&](std::string_view suffix) {
    std::string_view key = view(it->key());
    if (key.size() < prefix.size() || key.substr(0, prefix.size()) != prefix) {
      return key.compare(0, prefix.size(), prefix);
    }
    return key.substr(prefix.size()).compare(suffix);
  };
  it->Seek(full_key(sorted_suffixes.front()));
  for (size_t i = 0; i < sorted_suffixes.size() && it->Valid(); ++i) {
    std::string_view want = sorted_suffixes[i];
    int steps = 0;
    while (it->Valid() && compare(want) < 0 && steps < kMaxSteps) {
      it->Next();
      ++steps;
    }
    if (it->Valid() && compare(want) < 0) it->Seek(full_key(want));
    if (it->Valid() && compare(want) == 0) f(i, view(it->value()));
  }
  if (!it->status().ok()) return to_error(it->status());
  return {};
}

Status Backend::scan(Column column, std::string_view from, std::string_view to,
                     const std::function<bool(std::string_view, std::string_view)>& f) const {
  if (impl_->closed) return Error{Errc::failed, "revkv: backend is closed"};
  rocksdb::ReadOptions ro;
  rocksdb::Slice upper = slice(to);
  if (!to.empty()) ro.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(ro, impl_->cf(column)));
  for (it->Seek(slice(from)); it->Valid(); it->Next()) {
    if (!f(view(it->key()), view(it->value()))) break;
  }
  if (!it->status().ok()) return to_error(it->status());
  return {};
}

Status Backend::scan_reverse(
    Column column, std::string_view from, std::string_view to,
    const std::function<bool(std::string_view, std::string_view)>& f) const {
  if (impl_->closed) return Error{Errc::failed, "revkv: backend is closed"};
  rocksdb::ReadOptions ro;
  rocksdb::Slice lower = slice(from);
  rocksdb::Slice upper = slice(to);
  ro.iterate_lower_bound = &lower;
  if (!to.empty()) ro.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(ro, impl_->cf(column)));
  if (to.empty()) {
    it->SeekToLast();
  } else {
    it->SeekForPrev(upper);
    // SeekForPrev lands on `to` itself when it exists; the range is half-open.
    if (it->Valid() && view(it->key()) >= to) it->Prev();
  }
  for (; it->Valid(); it->Prev()) {
    if (!f(view(it->key()), view(it->value()))) break;
  }
  if (!it->status().ok()) return to_error(it->status());
  return {};
}

Result<bool> Backend::flush_latest_if_idle() {
  REVKV_TRY(impl_->usable());
  std::lock_guard lock(impl_->wal_mutex);
  REVKV_TRY(impl_->usable());
  return impl_->flush_latest_if_idle();
}

LatestFlushes Backend::latest_flushes() const {
  return {impl_->overwrite_flushes.load(std::memory_order_relaxed),
          impl_->idle_flushes.load(std::memory_order_relaxed)};
}

Result<uint64_t> Backend::active_memtable_entries(Column column) const {
  return impl_->int_property(column, rocksdb::DB::Properties::kNumEntriesActiveMemTable,
                             "memtable entry count");
}

Result<uint64_t> Backend::immutable_memtables(Column column) const {
  return impl_->int_property(column, rocksdb::DB::Properties::kNumImmutableMemTable,
                             "immutable memtable count");
}

Result<uint64_t> Backend::level0_files(Column column) const {
  if (impl_->closed) return Error{Errc::failed, "revkv: backend is closed"};
  rocksdb::ColumnFamilyMetaData meta;
  impl_->db->GetColumnFamilyMetaData(impl_->cf(column), &meta);
  if (meta.levels.empty()) return uint64_t{0};
  return static_cast<uint64_t>(meta.levels.front().files.size());
}

Result<int> Backend::level0_compaction_trigger(Column column) const {
  if (impl_->closed) return Error{Errc::failed, "revkv: backend is closed"};
  return impl_->db->GetOptions(impl_->cf(column)).level0_file_num_compaction_trigger;
}

Status Backend::flush() {
  REVKV_TRY(impl_->usable());
  std::vector<rocksdb::ColumnFamilyHandle*> cfs(impl_->columns.begin(), impl_->columns.end());
  return impl_->written(impl_->db->Flush(rocksdb::FlushOptions{}, cfs));
}

Status Backend::sync_wal() {
  REVKV_TRY(impl_->usable());
  if (impl_->options.disable_wal) return {};
  impl_->before_sync();
  std::lock_guard lock(impl_->wal_mutex);
  REVKV_TRY(impl_->usable());  // another writer may have failed meanwhile
  return impl_->written(impl_->db->SyncWAL());
}

namespace {

rocksdb::CompactRangeOptions whole_column_compaction() {
  rocksdb::CompactRangeOptions co;
  co.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForceOptimized;
  return co;
}

}  // namespace

Status Backend::defragment() {
  REVKV_TRY(impl_->usable());
  REVKV_TRY(flush());
  for (auto* h : impl_->columns) {
    REVKV_TRY(
        impl_->written(impl_->db->CompactRange(whole_column_compaction(), h, nullptr, nullptr)));
  }
  return {};
}

Status Backend::compact_column(Column column) {
  REVKV_TRY(impl_->usable());
  REVKV_TRY(impl_->written(impl_->db->Flush(rocksdb::FlushOptions{}, impl_->cf(column))));
  return impl_->written(
      impl_->db->CompactRange(whole_column_compaction(), impl_->cf(column), nullptr, nullptr));
}

Result<BackendSize> Backend::size() const {
  // Called by the metrics scrape from any thread, also while Node::stop closes the
  // backend: the reader keeps the database open until the properties are read.
  auto reader = impl_->enter();
  if (!reader) return Error{Errc::failed, "revkv: backend is closed"};
  if (impl_->options.hooks.while_sizing) impl_->options.hooks.while_sizing();
  BackendSize out;
  for (auto* h : impl_->columns) {
    uint64_t total_sst = 0, live = 0, mem = 0;
    impl_->db->GetIntProperty(h, rocksdb::DB::Properties::kTotalSstFilesSize, &total_sst);
    impl_->db->GetIntProperty(h, rocksdb::DB::Properties::kEstimateLiveDataSize, &live);
    impl_->db->GetIntProperty(h, rocksdb::DB::Properties::kCurSizeAllMemTables, &mem);
    out.total_bytes += total_sst + mem;
    out.in_use_bytes += std::min(live, total_sst) + mem;
  }
  return out;
}

Result<uint32_t> Backend::hash_all() const {
  if (impl_->closed) return Error{Errc::failed, "revkv: backend is closed"};
  const rocksdb::Snapshot* snapshot = impl_->db->GetSnapshot();
  // Released however the scan ends.
  std::unique_ptr<const rocksdb::Snapshot, std::function<void(const rocksdb::Snapshot*)>> hold(
      snapshot, [db = impl_->db.get()](const rocksdb::Snapshot* s) { db->ReleaseSnapshot(s); });
  rocksdb::ReadOptions ro;
  ro.snapshot = snapshot;
  // A full scan: do not evict the block cache's working set for it.
  ro.fill_cache = false;
  auto length = [](size_t n) {
    std::array<char, 8> out{};
    for (size_t i = 0; i < out.size(); ++i)
      out[i] = static_cast<char>((static_cast<uint64_t>(n) >> (8 * i)) & 0xff);
    return out;
  };
  uint32_t crc = 0;
  for (size_t c = 0; c < kHashedColumnCount; ++c) {
    crc = crc32c_extend(crc, kColumnNames[c]);
    std::unique_ptr<rocksdb::Iterator> it(
        impl_->db->NewIterator(ro, impl_->cf(static_cast<Column>(c))));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      auto k = length(it->key().size());
      auto v = length(it->value().size());
      crc = crc32c_extend(crc, std::string_view(k.data(), k.size()));
      crc = crc32c_extend(crc, view(it->key()));
      crc = crc32c_extend(crc, std::string_view(v.data(), v.size()));
      crc = crc32c_extend(crc, view(it->value()));
    }
    if (!it->status().ok()) return to_error(it->status());
  }
  return crc;
}

Status Backend::checkpoint(const std::string& dir) const {
  REVKV_TRY(impl_->usable());
  if (std::filesystem::exists(dir)) {
    return Error{Errc::invalid_argument, "revkv: snapshot directory already exists: " + dir};
  }
  rocksdb::Checkpoint* raw = nullptr;
  auto s = rocksdb::Checkpoint::Create(impl_->db.get(), &raw);
  if (!s.ok()) return to_error(s);
  std::unique_ptr<rocksdb::Checkpoint> cp(raw);
  // log_size_for_flush = 0: always flush memtables, so the copy holds no WAL to replay.
  s = cp->CreateCheckpoint(dir, /*log_size_for_flush=*/0);
  if (!s.ok()) return to_error(s);
  return {};
}

Status Backend::close() {
  return impl_->close();
}

}  // namespace revkv::storage
