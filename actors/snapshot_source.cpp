#include "actors/snapshot_source.hpp"

#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace revkv::actors {
namespace fs = std::filesystem;

std::unique_ptr<SnapshotSlot> SnapshotSlot::acquire(NodeContext& ctx) {
  size_t open = ctx.snapshots_open.load();
  do {
    if (open >= ctx.options.max_snapshots) return nullptr;
  } while (!ctx.snapshots_open.compare_exchange_weak(open, open + 1));
  return std::unique_ptr<SnapshotSlot>(new SnapshotSlot(ctx.snapshots_open));
}

SnapshotSlot::~SnapshotSlot() {
  open_.fetch_sub(1);
}

namespace {

// Removes a folder when it goes out of scope unless released (a source took it over).
struct FolderGuard {
  fs::path path;
  ~FolderGuard() {
    if (path.empty()) return;
    std::error_code ignored;
    fs::remove_all(path, ignored);
  }
};

}  // namespace

storage::Result<std::shared_ptr<SnapshotSource>> SnapshotSource::make(NodeContext& ctx) {
  std::error_code ec;
  fs::create_directories(ctx.snapshot_dir, ec);
  if (ec) {
    return storage::Error{storage::Errc::io_error, "revkv: snapshot: could not create " +
                                                       ctx.snapshot_dir + ": " + ec.message()};
  }
  std::string name = (fs::path(ctx.snapshot_dir) / "snapshot-XXXXXX").string();
  if (!::mkdtemp(name.data())) {
    return storage::Error{storage::Errc::io_error, "revkv: snapshot: could not create " + name +
                                                       ": " + std::strerror(errno)};
  }
  FolderGuard guard{name};
  const fs::path checkpoint = guard.path / "checkpoint";
  const int64_t w = ctx.watermark.load();
  if (auto status = ctx.backend->checkpoint(checkpoint.string()); !status.ok())
    return status.error();
  std::string error;
  auto tar = util::DirectoryTar::open(checkpoint.string(), error);
  if (!tar) return storage::Error{storage::Errc::io_error, "revkv: snapshot: " + error};
  std::shared_ptr<SnapshotSource> source(
      new SnapshotSource(ctx.header(w), std::move(guard.path), std::move(tar)));
  guard.path.clear();
  return source;
}

SnapshotSource::SnapshotSource(protocol::ResponseHeader header, fs::path folder,
                               std::unique_ptr<util::DirectoryTar> tar)
    : header_(header), folder_(std::move(folder)), tar_(std::move(tar)) {}

SnapshotSource::~SnapshotSource() {
  std::error_code ec;
  fs::remove_all(folder_, ec);
  if (ec) spdlog::warn("snapshot: could not remove {}: {}", folder_.string(), ec.message());
}

storage::Status SnapshotSource::next(std::size_t max, std::string& chunk) {
  std::string error;
  if (!tar_->next(max, chunk, error))
    return storage::Error{storage::Errc::io_error, "revkv: snapshot: " + error};
  if (!digest_.empty()) return {};  // done already: the chunk is empty
  sha_.update(chunk);
  if (tar_->done()) digest_ = sha_.finish();
  return {};
}

void remove_stale_snapshots(const std::string& snapshot_dir) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(snapshot_dir, ec)) {
    std::error_code removed;
    fs::remove_all(entry.path(), removed);
    if (removed) {
      spdlog::warn("snapshot: could not remove the stale {}: {}", entry.path().string(),
                   removed.message());
    } else {
      spdlog::info("snapshot: removed the stale {}", entry.path().string());
    }
  }
}

}  // namespace revkv::actors
