#include "apps/revkvd/catchup_store.hpp"

#include "util/unique_fd.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <unistd.h>
#include <vector>

namespace revkv::apps {
namespace fs = std::filesystem;
namespace {

// RocksDB's lock file stays where it is: it is what keeps two nodes off one directory.
constexpr std::string_view kLockFile = "LOCK";
// Catch-up's own files (the remembered port) are not the store's; RocksDB names none so.
constexpr std::string_view kOwnPrefix = "catchup";
// The member's Raft id (apps/revkvd/cluster_member.cpp) belongs to the member, not the store.
constexpr std::string_view kMemberIdFile = "member-id";

void fsync_or_throw(const fs::path& path) {
  util::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid() || ::fsync(fd.get()) != 0)
    throw std::runtime_error("fsync " + path.string() + ": " + std::strerror(errno));
}

std::vector<fs::path> regular_files(const fs::path& dir) {
  std::vector<fs::path> out;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const auto name = entry.path().filename().string();
    if (entry.is_regular_file() && name != kLockFile && name != kMemberIdFile &&
        name.rfind(kOwnPrefix, 0) != 0)
      out.push_back(entry.path());
  }
  return out;
}

std::string read_all(const fs::path& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// RocksDB's own advisory lock on DATA_DIR/LOCK (fcntl, as RocksDB takes it), held while the
// files move. Not held: another process has the store open; the swap waits for a start
// that gets it (the node's open reports the lock anyway).
class StoreLock {
 public:
  explicit StoreLock(const fs::path& data_dir)
      : fd_(::open((data_dir / kLockFile).c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644)) {
    if (!fd_.valid()) return;
    struct flock lock {};
    lock.l_type = F_WRLCK;
    lock.l_whence = SEEK_SET;
    held_ = ::fcntl(fd_.get(), F_SETLK, &lock) == 0;
  }
  bool held() const { return held_; }

 private:
  util::UniqueFd fd_;
  bool held_ = false;
};

}  // namespace

CatchupPaths::CatchupPaths(const fs::path& dir)
    : data_dir(dir),
      root(dir / "catchup"),
      staging(root / "staging"),
      staged(root / "staged"),
      old(root / "old"),
      ready(root / "READY"),
      swapping(root / "SWAPPING") {}

bool mark_staged(const CatchupPaths& paths, const std::string& source, std::uint64_t index,
                 std::string& error) {
  try {
    fs::remove(paths.ready);
    fs::remove_all(paths.staged);
    fs::rename(paths.staging, paths.staged);
    fsync_or_throw(paths.root);
    const auto tmp = paths.root / "READY.tmp";
    {
      std::ofstream out(tmp, std::ios::trunc);
      out << "checkpoint from " << source << " for snapshot index " << index;
      if (!out.flush()) throw std::runtime_error("cannot write " + tmp.string());
    }
    fsync_or_throw(tmp);
    fs::rename(tmp, paths.ready);
    fsync_or_throw(paths.root);
    return true;
  } catch (const std::exception& e) {
    error = e.what();
    return false;
  }
}

std::optional<std::string> install_staged_checkpoint(const fs::path& data_dir) {
  CatchupPaths paths(data_dir);
  std::error_code ec;
  if (!fs::exists(paths.root, ec)) return std::nullopt;
  std::optional<std::string> installed;
  // Another node has the store open (its own open reports that): leave its files alone.
  StoreLock lock(data_dir);
  if (!lock.held()) return std::nullopt;
  try {
    if (fs::exists(paths.ready) || fs::exists(paths.swapping)) {
      if (fs::exists(paths.ready)) {
        // Phase 1: the current store's files out of the way (redone in full after a crash:
        // a file already moved is simply not listed again).
        fs::create_directories(paths.old);
        for (const auto& file : regular_files(data_dir))
          fs::rename(file, paths.old / file.filename());
        fsync_or_throw(data_dir);
        fs::rename(paths.ready, paths.swapping);
        fsync_or_throw(paths.root);
      }
      // Phase 2: the checkpoint's files in. DATA_DIR holds none of the old store's files now,
      // so a name is never overwritten; a file already moved is not listed again.
      installed = read_all(paths.swapping);
      if (fs::exists(paths.staged)) {
        for (const auto& file : regular_files(paths.staged))
          fs::rename(file, data_dir / file.filename());
      }
      fsync_or_throw(data_dir);
      fs::remove(paths.swapping);
      fsync_or_throw(paths.root);
    }
    // A partial download, a staged checkpoint never marked ready, the old store's files.
    fs::remove_all(paths.root);
  } catch (const fs::filesystem_error& e) {
    throw std::runtime_error(std::string("installing a fetched checkpoint: ") + e.what());
  }
  return installed;
}

}  // namespace revkv::apps
