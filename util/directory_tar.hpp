#pragma once

// A tar archive of a directory's contents, written by libarchive (GNU tar format: ustar
// headers, GNU long-name entries for names over 100 bytes) and produced on demand, a chunk
// at a time: Maintenance.Snapshot streams a RocksDB checkpoint this way, so that what is
// in memory is one chunk, not the archive. Entries are relative to the directory, in name
// order, directories with a trailing '/'; modes 0644 / 0755, owner 0 and mtime 0, so the
// same contents always give the same bytes. `revkvctl snapshot restore` extracts it
// (docs/REVKVCTL.md "Snapshots").

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace revkv::util {

class DirectoryTar {
 public:
  // Lists `dir` (regular files and directories only; anything else is refused) and
  // measures the archive by writing it once with zeros in place of the files' bytes, so
  // that size() is known before the first chunk. Null and `error` set on failure. The
  // files must not change afterwards.
  static std::unique_ptr<DirectoryTar> open(const std::string& dir, std::string& error);
  ~DirectoryTar();
  DirectoryTar(const DirectoryTar&) = delete;
  DirectoryTar& operator=(const DirectoryTar&) = delete;

  uint64_t size() const { return size_; }
  uint64_t produced() const { return produced_; }
  bool done() const { return produced_ == size_ && finished_; }

  // The next at most `max` (> 0) bytes of the archive, reading the files as it goes;
  // empty once done(). False and `error` set when a file cannot be read or does not
  // match what open() measured.
  bool next(std::size_t max, std::string& chunk, std::string& error);

 private:
  struct Entry {
    std::string name;  // relative, '/'-separated; directories end in '/'
    std::string path;  // on disk
    uint64_t size = 0;
    bool directory = false;
  };
  class Writer;

  explicit DirectoryTar(std::vector<Entry> entries);

  std::vector<Entry> entries_;
  std::unique_ptr<Writer> writer_;
  uint64_t size_ = 0;
  uint64_t produced_ = 0;
  bool finished_ = false;
};

// Builds the whole archive of `dir` in memory (tests and small trees only).
bool tar_directory(const std::string& dir, std::string& out, std::string& error);

}  // namespace revkv::util
