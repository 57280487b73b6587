#include "tests/powerloss/power_cut_fs.hpp"

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <system_error>

namespace revkv::testing {
namespace fs = std::filesystem;
using rocksdb::IOStatus;

namespace {

std::string normal(const std::string& path) {
  auto p = fs::path(path).lexically_normal().string();
  while (p.size() > 1 && p.back() == '/')
    p.pop_back();
  return p;
}

std::string parent_of(const std::string& path) {
  return fs::path(normal(path)).parent_path().string();
}

bool is_wal(const std::string& path) {
  return path.size() > 4 && path.compare(path.size() - 4, 4, ".log") == 0;
}

IOStatus power_is_off() {
  return IOStatus::IOError("power cut: the file system is gone");
}

// A file being written: appends go to the real file at once; the model remembers how much
// of it a sync made durable.
class CutWritableFile : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  CutWritableFile(std::unique_ptr<rocksdb::FSWritableFile> real, PowerCutFs& fs,
                  std::shared_ptr<PowerCutFs::FileState> state)
      : FSWritableFileOwnerWrapper(std::move(real)), fs_(fs), state_(std::move(state)) {}

  IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& o,
                  rocksdb::IODebugContext* dbg) override {
    uint64_t operation = 0;
    if (auto s = fs_.step(&operation); !s.ok()) return s;
    auto s = target()->Append(data, o, dbg);
    if (s.ok()) fs_.appended(*state_, data.size(), operation);
    return s;
  }
  IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& o,
                  const rocksdb::DataVerificationInfo&, rocksdb::IODebugContext* dbg) override {
    return Append(data, o, dbg);
  }
  IOStatus PositionedAppend(const rocksdb::Slice&, uint64_t, const rocksdb::IOOptions&,
                            rocksdb::IODebugContext*) override {
    return IOStatus::NotSupported("PowerCutFs: positioned appends (direct I/O) are not modelled");
  }
  IOStatus PositionedAppend(const rocksdb::Slice&, uint64_t, const rocksdb::IOOptions&,
                            const rocksdb::DataVerificationInfo&,
                            rocksdb::IODebugContext*) override {
    return IOStatus::NotSupported("PowerCutFs: positioned appends (direct I/O) are not modelled");
  }
  IOStatus Truncate(uint64_t size, const rocksdb::IOOptions& o,
                    rocksdb::IODebugContext* dbg) override {
    if (auto s = fs_.step(); !s.ok()) return s;
    auto s = target()->Truncate(size, o, dbg);
    if (s.ok()) fs_.truncated(*state_, size);
    return s;
  }
  IOStatus Flush(const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) override {
    if (auto s = fs_.check_power(); !s.ok()) return s;
    return target()->Flush(o, dbg);
  }
  IOStatus Sync(const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) override {
    if (auto s = fs_.step(); !s.ok()) return s;
    // What was appended before the sync started is what the sync makes durable. The
    // wrapped file's buffer goes to the kernel first (Flush); the model is the fsync.
    uint64_t size = fs_.size_of(*state_);
    if (auto s = target()->Flush(o, dbg); !s.ok()) return s;
    return fs_.synced(*state_, size);
  }
  IOStatus Fsync(const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) override {
    return Sync(o, dbg);
  }
  IOStatus RangeSync(uint64_t, uint64_t, const rocksdb::IOOptions&,
                     rocksdb::IODebugContext*) override {
    // sync_file_range makes nothing durable (no metadata, no disk cache flush).
    return fs_.check_power();
  }
  bool IsSyncThreadSafe() const override { return true; }
  IOStatus Close(const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) override {
    // Closing must work after the cut too: RocksDB closes its files while shutting down.
    return target()->Close(o, dbg);
  }

 private:
  PowerCutFs& fs_;
  std::shared_ptr<PowerCutFs::FileState> state_;
};

class CutSequentialFile : public rocksdb::FSSequentialFileOwnerWrapper {
 public:
  CutSequentialFile(std::unique_ptr<rocksdb::FSSequentialFile> real, const PowerCutFs& fs)
      : FSSequentialFileOwnerWrapper(std::move(real)), fs_(fs) {}
  IOStatus Read(size_t n, const rocksdb::IOOptions& o, rocksdb::Slice* result, char* scratch,
                rocksdb::IODebugContext* dbg) override {
    if (auto s = fs_.check_power(); !s.ok()) return s;
    return target()->Read(n, o, result, scratch, dbg);
  }
  IOStatus PositionedRead(uint64_t offset, size_t n, const rocksdb::IOOptions& o,
                          rocksdb::Slice* result, char* scratch,
                          rocksdb::IODebugContext* dbg) override {
    if (auto s = fs_.check_power(); !s.ok()) return s;
    return target()->PositionedRead(offset, n, o, result, scratch, dbg);
  }

 private:
  const PowerCutFs& fs_;
};

class CutRandomAccessFile : public rocksdb::FSRandomAccessFileOwnerWrapper {
 public:
  CutRandomAccessFile(std::unique_ptr<rocksdb::FSRandomAccessFile> real, const PowerCutFs& fs)
      : FSRandomAccessFileOwnerWrapper(std::move(real)), fs_(fs) {}
  IOStatus Read(uint64_t offset, size_t n, const rocksdb::IOOptions& o, rocksdb::Slice* result,
                char* scratch, rocksdb::IODebugContext* dbg) const override {
    if (auto s = fs_.check_power(); !s.ok()) return s;
    return target()->Read(offset, n, o, result, scratch, dbg);
  }
  IOStatus MultiRead(rocksdb::FSReadRequest* reqs, size_t num_reqs, const rocksdb::IOOptions& o,
                     rocksdb::IODebugContext* dbg) override {
    if (auto s = fs_.check_power(); !s.ok()) return s;
    return target()->MultiRead(reqs, num_reqs, o, dbg);
  }
  IOStatus ReadAsync(rocksdb::FSReadRequest&, const rocksdb::IOOptions&,
                     std::function<void(const rocksdb::FSReadRequest&, void*)>, void*, void**,
                     rocksdb::IOHandleDeleter*, rocksdb::IODebugContext*) override {
    // Unsupported here: RocksDB then reads synchronously, through Read.
    return IOStatus::NotSupported("PowerCutFs: asynchronous reads");
  }

 private:
  const PowerCutFs& fs_;
};

class CutDirectory : public rocksdb::FSDirectoryWrapper {
 public:
  CutDirectory(std::unique_ptr<rocksdb::FSDirectory> real, PowerCutFs& fs, std::string path)
      : FSDirectoryWrapper(std::move(real)), fs_(fs), path_(std::move(path)) {}
  IOStatus Fsync(const rocksdb::IOOptions&, rocksdb::IODebugContext*) override {
    if (auto s = fs_.step(); !s.ok()) return s;
    return fs_.directory_synced(path_);
  }
  IOStatus FsyncWithDirOptions(const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg,
                               const rocksdb::DirFsyncOptions&) override {
    return Fsync(o, dbg);
  }

 private:
  PowerCutFs& fs_;
  std::string path_;
};

// The Env of a database over a PowerCutFs. RocksDB sleeps a second after a failed
// background flush before it retries; once the power is off there is nothing to wait for,
// and closing the database would wait out that sleep.
class PowerCutEnv : public rocksdb::EnvWrapper {
 public:
  PowerCutEnv(std::unique_ptr<rocksdb::Env> composite, std::shared_ptr<const PowerCutFs> fs)
      : EnvWrapper(std::move(composite)), fs_(std::move(fs)) {}
  static const char* kClassName() { return "PowerCutEnv"; }
  const char* Name() const override { return kClassName(); }
  void SleepForMicroseconds(int micros) override {
    if (fs_->power_off()) return;
    EnvWrapper::SleepForMicroseconds(micros);
  }

 private:
  std::shared_ptr<const PowerCutFs> fs_;
};

}  // namespace

PowerCutFs::PowerCutFs(std::string trash_dir, std::shared_ptr<rocksdb::FileSystem> base)
    : FileSystemWrapper(base), trash_dir_(normal(trash_dir)) {
  fs::create_directories(trash_dir_);
}

PowerCutFs::~PowerCutFs() = default;

std::shared_ptr<rocksdb::Env> PowerCutFs::env_of(const std::shared_ptr<PowerCutFs>& fs) {
  return std::make_shared<PowerCutEnv>(rocksdb::NewCompositeEnv(fs), fs);
}

void PowerCutFs::cut_at_operation(uint64_t n) {
  std::lock_guard lock(mutex_);
  cut_at_ = n == 0 ? 0 : operations_ + n;
}

void PowerCutFs::cut_now() {
  std::lock_guard lock(mutex_);
  power_off_ = true;
}

bool PowerCutFs::power_off() const {
  std::lock_guard lock(mutex_);
  return power_off_;
}

uint64_t PowerCutFs::operations() const {
  std::lock_guard lock(mutex_);
  return operations_;
}

uint64_t PowerCutFs::wal_syncs() const {
  std::lock_guard lock(mutex_);
  return wal_syncs_;
}

uint64_t PowerCutFs::wal_durable_horizon() const {
  std::lock_guard lock(mutex_);
  uint64_t horizon = UINT64_MAX;
  for (const auto& [path, file] : files_) {
    if (!is_wal(path) || path.rfind(trash_dir_ + "/", 0) == 0) continue;
    if (file->size > file->synced && file->first_unsynced_append != 0) {
      horizon = std::min(horizon, file->first_unsynced_append);
    }
  }
  return horizon;
}

IOStatus PowerCutFs::step(uint64_t* number) {
  std::lock_guard lock(mutex_);
  if (power_off_) return power_is_off();
  ++operations_;
  if (number) *number = operations_;
  if (cut_at_ != 0 && operations_ >= cut_at_) {
    power_off_ = true;
    return power_is_off();
  }
  return IOStatus::OK();
}

IOStatus PowerCutFs::check_power() const {
  std::lock_guard lock(mutex_);
  return power_off_ ? power_is_off() : IOStatus::OK();
}

void PowerCutFs::appended(FileState& file, uint64_t bytes, uint64_t operation) {
  std::lock_guard lock(mutex_);
  file.size += bytes;
  if (file.first_unsynced_append == 0) file.first_unsynced_append = operation;
}

void PowerCutFs::truncated(FileState& file, uint64_t size) {
  std::lock_guard lock(mutex_);
  file.size = size;
  // Shrinking a file is itself unsynced; the model keeps it simple: what was synced
  // beyond the new size is gone for good.
  file.synced = std::min(file.synced, size);
}

uint64_t PowerCutFs::size_of(const FileState& file) const {
  std::lock_guard lock(mutex_);
  return file.size;
}

IOStatus PowerCutFs::synced(FileState& file, uint64_t size) {
  std::lock_guard lock(mutex_);
  // A sync that ends after the cut did not finish: nothing more is durable.
  if (power_off_) return power_is_off();
  file.synced = std::max(file.synced, size);
  // Appends that raced with the sync may not be covered: then the file keeps its oldest
  // unsynced operation number (an underestimate of the horizon, never an overestimate).
  if (file.synced >= file.size) file.first_unsynced_append = 0;
  if (is_wal(file.path)) ++wal_syncs_;
  return IOStatus::OK();
}

IOStatus PowerCutFs::directory_synced(const std::string& dir) {
  std::lock_guard lock(mutex_);
  if (power_off_) return power_is_off();
  std::vector<DirChange> still;
  for (auto& change : pending_) {
    change.unsynced_dirs.erase(dir);
    if (!change.unsynced_dirs.empty()) {
      still.push_back(std::move(change));
      continue;
    }
    // Durable: the copy kept to undo it is not needed any more.
    if (!change.kept.empty()) {
      std::error_code ec;
      fs::remove(change.kept, ec);
      files_.erase(change.kept);
    }
  }
  pending_ = std::move(still);
  return IOStatus::OK();
}

std::shared_ptr<PowerCutFs::FileState> PowerCutFs::track(const std::string& path, uint64_t size,
                                                         uint64_t synced) {
  auto state = std::make_shared<FileState>();
  state->path = path;
  state->size = size;
  state->synced = synced;
  files_[path] = state;
  return state;
}

std::string PowerCutFs::keep_in_trash(const std::string& path) {
  std::string kept = trash_dir_ + "/" + std::to_string(++trash_counter_);
  std::error_code ec;
  fs::create_hard_link(path, kept, ec);
  if (ec) return {};
  return kept;
}

void PowerCutFs::move_tracking(const std::string& from, const std::string& to) {
  auto it = files_.find(from);
  if (it == files_.end()) {
    files_.erase(to);
    return;
  }
  auto state = it->second;
  files_.erase(it);
  state->path = to;
  files_[to] = state;
}

void PowerCutFs::record(DirChange change) {
  pending_.push_back(std::move(change));
}

IOStatus PowerCutFs::NewSequentialFile(const std::string& f, const rocksdb::FileOptions& o,
                                       std::unique_ptr<rocksdb::FSSequentialFile>* r,
                                       rocksdb::IODebugContext* dbg) {
  if (auto s = check_power(); !s.ok()) return s;
  std::unique_ptr<rocksdb::FSSequentialFile> real;
  auto s = target()->NewSequentialFile(f, o, &real, dbg);
  if (s.ok()) *r = std::make_unique<CutSequentialFile>(std::move(real), *this);
  return s;
}

IOStatus PowerCutFs::NewRandomAccessFile(const std::string& f, const rocksdb::FileOptions& o,
                                         std::unique_ptr<rocksdb::FSRandomAccessFile>* r,
                                         rocksdb::IODebugContext* dbg) {
  if (auto s = check_power(); !s.ok()) return s;
  std::unique_ptr<rocksdb::FSRandomAccessFile> real;
  auto s = target()->NewRandomAccessFile(f, o, &real, dbg);
  if (s.ok()) *r = std::make_unique<CutRandomAccessFile>(std::move(real), *this);
  return s;
}

IOStatus PowerCutFs::NewWritableFile(const std::string& f, const rocksdb::FileOptions& o,
                                     std::unique_ptr<rocksdb::FSWritableFile>* r,
                                     rocksdb::IODebugContext* dbg) {
  if (auto s = step(); !s.ok()) return s;
  std::string path = normal(f);
  std::lock_guard lock(mutex_);
  bool existed = fs::exists(path);
  std::unique_ptr<rocksdb::FSWritableFile> real;
  auto s = target()->NewWritableFile(f, o, &real, dbg);
  if (!s.ok()) return s;
  // An existing file is truncated: its old contents are not durable any more either.
  auto state = track(path, 0, 0);
  if (!existed) record({DirChange::Kind::create_file, path, {}, {}, {parent_of(path)}});
  *r = std::make_unique<CutWritableFile>(std::move(real), *this, state);
  return s;
}

IOStatus PowerCutFs::ReopenWritableFile(const std::string& f, const rocksdb::FileOptions& o,
                                        std::unique_ptr<rocksdb::FSWritableFile>* r,
                                        rocksdb::IODebugContext* dbg) {
  if (auto s = step(); !s.ok()) return s;
  std::string path = normal(f);
  std::lock_guard lock(mutex_);
  bool existed = fs::exists(path);
  std::unique_ptr<rocksdb::FSWritableFile> real;
  auto s = target()->ReopenWritableFile(f, o, &real, dbg);
  if (!s.ok()) return s;
  std::shared_ptr<FileState> state;
  if (auto it = files_.find(path); it != files_.end()) {
    state = it->second;
  } else {
    std::error_code ec;
    uint64_t size = existed ? fs::file_size(path, ec) : 0;
    state = track(path, size, size);  // a file from before this file system: durable
  }
  if (!existed) record({DirChange::Kind::create_file, path, {}, {}, {parent_of(path)}});
  *r = std::make_unique<CutWritableFile>(std::move(real), *this, state);
  return s;
}

IOStatus PowerCutFs::ReuseWritableFile(const std::string&, const std::string&,
                                       const rocksdb::FileOptions&,
                                       std::unique_ptr<rocksdb::FSWritableFile>*,
                                       rocksdb::IODebugContext*) {
  // WAL recycling (recycle_log_file_num) is off in revkv.
  return IOStatus::NotSupported("PowerCutFs: reusing a writable file is not modelled");
}

IOStatus PowerCutFs::NewRandomRWFile(const std::string&, const rocksdb::FileOptions&,
                                     std::unique_ptr<rocksdb::FSRandomRWFile>*,
                                     rocksdb::IODebugContext*) {
  return IOStatus::NotSupported("PowerCutFs: random read-write files are not modelled");
}

IOStatus PowerCutFs::NewDirectory(const std::string& d, const rocksdb::IOOptions& o,
                                  std::unique_ptr<rocksdb::FSDirectory>* r,
                                  rocksdb::IODebugContext* dbg) {
  if (auto s = check_power(); !s.ok()) return s;
  std::unique_ptr<rocksdb::FSDirectory> real;
  auto s = target()->NewDirectory(d, o, &real, dbg);
  if (s.ok()) *r = std::make_unique<CutDirectory>(std::move(real), *this, normal(d));
  return s;
}

IOStatus PowerCutFs::FileExists(const std::string& f, const rocksdb::IOOptions& o,
                                rocksdb::IODebugContext* dbg) {
  // The one operation that keeps answering after the cut (it changes nothing): RocksDB 7.8's
  // WalManager::GetSortedWalFiles (a checkpoint's list of WALs) asserts on the wrong status
  // when FileExists fails, and Debian's librocksdb keeps its assertions.
  return target()->FileExists(f, o, dbg);
}

IOStatus PowerCutFs::GetChildren(const std::string& d, const rocksdb::IOOptions& o,
                                 std::vector<std::string>* r, rocksdb::IODebugContext* dbg) {
  if (auto s = check_power(); !s.ok()) return s;
  return target()->GetChildren(d, o, r, dbg);
}

IOStatus PowerCutFs::GetChildrenFileAttributes(const std::string& d, const rocksdb::IOOptions& o,
                                               std::vector<rocksdb::FileAttributes>* r,
                                               rocksdb::IODebugContext* dbg) {
  if (auto s = check_power(); !s.ok()) return s;
  return target()->GetChildrenFileAttributes(d, o, r, dbg);
}

IOStatus PowerCutFs::DeleteFile(const std::string& f, const rocksdb::IOOptions& o,
                                rocksdb::IODebugContext* dbg) {
  if (auto s = step(); !s.ok()) return s;
  std::string path = normal(f);
  std::lock_guard lock(mutex_);
  std::string kept = keep_in_trash(path);
  auto s = target()->DeleteFile(f, o, dbg);
  if (!s.ok()) {
    if (!kept.empty()) fs::remove(kept);
    return s;
  }
  move_tracking(path, kept);
  if (!kept.empty()) {
    record({DirChange::Kind::remove_file, path, {}, kept, {parent_of(path)}});
  }
  return s;
}

IOStatus PowerCutFs::Truncate(const std::string& f, size_t size, const rocksdb::IOOptions& o,
                              rocksdb::IODebugContext* dbg) {
  if (auto s = step(); !s.ok()) return s;
  auto s = target()->Truncate(f, size, o, dbg);
  if (!s.ok()) return s;
  std::lock_guard lock(mutex_);
  if (auto it = files_.find(normal(f)); it != files_.end()) {
    it->second->size = size;
    it->second->synced = std::min<uint64_t>(it->second->synced, size);
  }
  return s;
}

IOStatus PowerCutFs::CreateDir(const std::string& d, const rocksdb::IOOptions& o,
                               rocksdb::IODebugContext* dbg) {
  if (auto s = step(); !s.ok()) return s;
  auto s = target()->CreateDir(d, o, dbg);
  if (s.ok()) {
    std::lock_guard lock(mutex_);
    record({DirChange::Kind::create_dir, normal(d), {}, {}, {parent_of(d)}});
  }
  return s;
}

IOStatus PowerCutFs::CreateDirIfMissing(const std::string& d, const rocksdb::IOOptions& o,
                                        rocksdb::IODebugContext* dbg) {
  if (auto s = step(); !s.ok()) return s;
  bool existed = fs::is_directory(d);
  auto s = target()->CreateDirIfMissing(d, o, dbg);
  if (s.ok() && !existed) {
    std::lock_guard lock(mutex_);
    record({DirChange::Kind::create_dir, normal(d), {}, {}, {parent_of(d)}});
  }
  return s;
}

IOStatus PowerCutFs::DeleteDir(const std::string& d, const rocksdb::IOOptions& o,
                               rocksdb::IODebugContext* dbg) {
  if (auto s = step(); !s.ok()) return s;
  auto s = target()->DeleteDir(d, o, dbg);
  if (s.ok()) {
    std::lock_guard lock(mutex_);
    record({DirChange::Kind::remove_dir, normal(d), {}, {}, {parent_of(d)}});
  }
  return s;
}

IOStatus PowerCutFs::GetFileSize(const std::string& f, const rocksdb::IOOptions& o, uint64_t* s,
                                 rocksdb::IODebugContext* dbg) {
  if (auto st = check_power(); !st.ok()) return st;
  return target()->GetFileSize(f, o, s, dbg);
}

IOStatus PowerCutFs::GetFileModificationTime(const std::string& f, const rocksdb::IOOptions& o,
                                             uint64_t* t, rocksdb::IODebugContext* dbg) {
  if (auto s = check_power(); !s.ok()) return s;
  return target()->GetFileModificationTime(f, o, t, dbg);
}

IOStatus PowerCutFs::RenameFile(const std::string& src, const std::string& dst,
                                const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) {
  if (auto s = step(); !s.ok()) return s;
  std::string from = normal(src);
  std::string to = normal(dst);
  std::lock_guard lock(mutex_);
  std::string kept = fs::exists(to) ? keep_in_trash(to) : std::string{};
  auto s = target()->RenameFile(src, dst, o, dbg);
  if (!s.ok()) {
    if (!kept.empty()) fs::remove(kept);
    return s;
  }
  if (!kept.empty()) move_tracking(to, kept);
  move_tracking(from, to);
  record({DirChange::Kind::rename, to, from, kept, {parent_of(from), parent_of(to)}});
  return s;
}

IOStatus PowerCutFs::LinkFile(const std::string& src, const std::string& dst,
                              const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) {
  if (auto s = step(); !s.ok()) return s;
  auto s = target()->LinkFile(src, dst, o, dbg);
  if (s.ok()) {
    std::lock_guard lock(mutex_);
    record({DirChange::Kind::create_file, normal(dst), {}, {}, {parent_of(dst)}});
  }
  return s;
}

IOStatus PowerCutFs::LockFile(const std::string& f, const rocksdb::IOOptions& o,
                              rocksdb::FileLock** l, rocksdb::IODebugContext* dbg) {
  if (auto s = check_power(); !s.ok()) return s;
  return target()->LockFile(f, o, l, dbg);
}

void PowerCutFs::undo(const DirChange& change, DroppedState& out) {
  std::error_code ec;
  switch (change.kind) {
    case DirChange::Kind::create_file:
    case DirChange::Kind::create_dir:
      if (fs::remove_all(change.path, ec) > 0) ++out.removed_entries;
      break;
    case DirChange::Kind::rename:
      fs::rename(change.path, change.from, ec);
      if (!change.kept.empty()) fs::rename(change.kept, change.path, ec);
      ++out.undone_renames;
      break;
    case DirChange::Kind::remove_file:
      fs::rename(change.kept, change.path, ec);
      ++out.restored_files;
      break;
    case DirChange::Kind::remove_dir:
      fs::create_directory(change.path, ec);
      ++out.restored_files;
      break;
  }
}

DroppedState PowerCutFs::apply_cut() {
  std::lock_guard lock(mutex_);
  power_off_ = true;
  DroppedState out;
  // Data first, at the paths the files have now; then the directory changes, newest
  // first, which move the (already truncated) files back where they were.
  for (const auto& [path, file] : files_) {
    std::error_code ec;
    if (!fs::is_regular_file(path, ec)) continue;
    uint64_t size = fs::file_size(path, ec);
    if (ec || size <= file->synced) continue;
    fs::resize_file(path, file->synced, ec);
    if (!ec) {
      ++out.truncated_files;
      out.dropped_bytes += size - file->synced;
    }
  }
  for (auto it = pending_.rbegin(); it != pending_.rend(); ++it)
    undo(*it, out);
  pending_.clear();
  files_.clear();
  std::error_code ec;
  fs::remove_all(trash_dir_, ec);
  return out;
}

}  // namespace revkv::testing
