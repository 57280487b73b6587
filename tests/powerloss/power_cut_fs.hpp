#pragma once

// A RocksDB file system for power-loss tests: it passes every operation to the real file
// system and remembers what a power cut would take back.
//
// What it models (the rules of a POSIX file system after a crash of the machine):
// - a file's data is durable up to the size it had at its last Sync/Fsync; bytes written
//   after it are dropped (the file is truncated to its last synced size, 0 if never synced);
// - a directory entry (a file or directory created, a hard link, a rename, a delete) is
//   durable only once its directory is fsynced (FSDirectory::Fsync): until then a new file
//   disappears, a rename is undone (an overwritten target comes back), a deleted file
//   comes back;
// - from the cut on, every operation fails with an I/O error ("the power is off"), except
//   FileExists (see its definition: a RocksDB assertion).
//
// The cut happens at the n-th mutating operation (cut_at_operation) or at once (cut_now);
// the real files are left as they are until apply_cut(), called once nothing uses the file
// system any more (the node is torn down), which truncates and undoes on the real
// directory. Syncs are not passed to the real file system: durability is this model's, and
// skipping real fsyncs keeps a cut cheap.
//
// Not modelled: torn or reordered writes inside the unsynced tail (the tail is dropped as a
// whole), the info log (RocksDB's LOG, written through NewLogger, is not tracked), random-RW
// files (RocksDB's WAL, MANIFEST and SST files are all append-only writable files).

#include <rocksdb/env.h>
#include <rocksdb/file_system.h>

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace revkv::testing {

// What apply_cut() did to the real files.
struct DroppedState {
  size_t truncated_files = 0;  // files cut back to their last synced size
  uint64_t dropped_bytes = 0;  // bytes those files lost
  size_t removed_entries = 0;  // files and directories created but not made durable
  size_t undone_renames = 0;   // renames not followed by a directory fsync
  size_t restored_files = 0;   // deletes not followed by a directory fsync
};

class PowerCutFs : public rocksdb::FileSystemWrapper {
 public:
  // `trash_dir`: where deleted files (and rename targets that were overwritten) are kept
  // as hard links until their removal is durable; created if missing, on the same file
  // system as the data directory (hard links cannot cross file systems).
  PowerCutFs(std::string trash_dir,
             std::shared_ptr<rocksdb::FileSystem> base = rocksdb::FileSystem::Default());
  ~PowerCutFs() override;

  static const char* kClassName() { return "PowerCutFs"; }
  const char* Name() const override { return kClassName(); }

  // The power goes off at the n-th mutating operation from now on (1-based); that
  // operation and every later one fail. 0: no cut planned.
  void cut_at_operation(uint64_t n);
  void cut_now();
  bool power_off() const;
  // Mutating operations seen so far (appends, syncs, creates, renames, deletes, ...).
  uint64_t operations() const;
  // Completed syncs of WAL files (*.log) before the cut.
  uint64_t wal_syncs() const;
  // Every WAL append numbered below this (operations() counts them) was synced before the
  // cut; UINT64_MAX when no WAL holds unsynced bytes. A write acknowledged when
  // operations() was at most this is durable, whatever the sync mode.
  uint64_t wal_durable_horizon() const;

  // Applies the cut to the real files: truncates every file to its last synced size and
  // undoes, newest first, every directory change that no fsync of its directory made
  // durable. Call once, after the cut, when nothing uses this file system any more.
  DroppedState apply_cut();

  // An Env whose file I/O goes through `fs` (RocksDB's DBOptions::env).
  static std::shared_ptr<rocksdb::Env> env_of(const std::shared_ptr<PowerCutFs>& fs);

  // -- rocksdb::FileSystem ------------------------------------------------------------------
  rocksdb::IOStatus NewSequentialFile(const std::string& f, const rocksdb::FileOptions& o,
                                      std::unique_ptr<rocksdb::FSSequentialFile>* r,
                                      rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus NewRandomAccessFile(const std::string& f, const rocksdb::FileOptions& o,
                                        std::unique_ptr<rocksdb::FSRandomAccessFile>* r,
                                        rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus NewWritableFile(const std::string& f, const rocksdb::FileOptions& o,
                                    std::unique_ptr<rocksdb::FSWritableFile>* r,
                                    rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus ReopenWritableFile(const std::string& f, const rocksdb::FileOptions& o,
                                       std::unique_ptr<rocksdb::FSWritableFile>* r,
                                       rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus ReuseWritableFile(const std::string& f, const std::string& old,
                                      const rocksdb::FileOptions& o,
                                      std::unique_ptr<rocksdb::FSWritableFile>* r,
                                      rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus NewRandomRWFile(const std::string& f, const rocksdb::FileOptions& o,
                                    std::unique_ptr<rocksdb::FSRandomRWFile>* r,
                                    rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus NewDirectory(const std::string& d, const rocksdb::IOOptions& o,
                                 std::unique_ptr<rocksdb::FSDirectory>* r,
                                 rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus FileExists(const std::string& f, const rocksdb::IOOptions& o,
                               rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus GetChildren(const std::string& d, const rocksdb::IOOptions& o,
                                std::vector<std::string>* r, rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus GetChildrenFileAttributes(const std::string& d, const rocksdb::IOOptions& o,
                                              std::vector<rocksdb::FileAttributes>* r,
                                              rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus DeleteFile(const std::string& f, const rocksdb::IOOptions& o,
                               rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus Truncate(const std::string& f, size_t size, const rocksdb::IOOptions& o,
                             rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus CreateDir(const std::string& d, const rocksdb::IOOptions& o,
                              rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus CreateDirIfMissing(const std::string& d, const rocksdb::IOOptions& o,
                                       rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus DeleteDir(const std::string& d, const rocksdb::IOOptions& o,
                              rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus GetFileSize(const std::string& f, const rocksdb::IOOptions& o, uint64_t* s,
                                rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus GetFileModificationTime(const std::string& f, const rocksdb::IOOptions& o,
                                            uint64_t* t, rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus RenameFile(const std::string& src, const std::string& dst,
                               const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus LinkFile(const std::string& src, const std::string& dst,
                             const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus LockFile(const std::string& f, const rocksdb::IOOptions& o,
                             rocksdb::FileLock** l, rocksdb::IODebugContext* dbg) override;

  // -- for the file wrappers ------------------------------------------------------------------
  struct FileState {
    std::string path;  // where the file is now (a trash path once deleted)
    uint64_t size = 0;
    uint64_t synced = 0;
    uint64_t first_unsynced_append = 0;  // its operation number; 0: nothing unsynced
  };
  // Counts a mutating operation; the power-off error once the power is off.
  rocksdb::IOStatus step(uint64_t* number = nullptr);
  rocksdb::IOStatus check_power() const;
  void appended(FileState& file, uint64_t bytes, uint64_t operation);
  void truncated(FileState& file, uint64_t size);
  rocksdb::IOStatus synced(FileState& file, uint64_t size);
  uint64_t size_of(const FileState& file) const;
  rocksdb::IOStatus directory_synced(const std::string& dir);

 private:
  struct DirChange {
    enum class Kind { create_file, create_dir, rename, remove_file, remove_dir };
    Kind kind = Kind::create_file;
    std::string path;  // created / removed; for a rename, its target
    std::string from;  // a rename's source
    std::string kept;  // a trash path: the removed file, or the rename's overwritten target
    std::set<std::string> unsynced_dirs;  // durable once each of these is fsynced
  };

  std::shared_ptr<FileState> track(const std::string& path, uint64_t size, uint64_t synced);
  std::string keep_in_trash(const std::string& path);
  void move_tracking(const std::string& from, const std::string& to);
  void record(DirChange change);
  void undo(const DirChange& change, DroppedState& out);

  mutable std::mutex mutex_;
  std::string trash_dir_;
  uint64_t trash_counter_ = 0;
  uint64_t operations_ = 0;
  uint64_t cut_at_ = 0;
  bool power_off_ = false;
  uint64_t wal_syncs_ = 0;
  std::map<std::string, std::shared_ptr<FileState>> files_;  // by current path
  std::vector<DirChange> pending_;                           // oldest first
};

}  // namespace revkv::testing
