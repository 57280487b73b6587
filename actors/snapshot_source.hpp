#pragma once

// One Maintenance.Snapshot while it streams (docs/NODE.md "Snapshot"). The maintenance
// actor makes a RocksDB checkpoint (hard links to the SST files) in a folder of its own
// under NodeContext::snapshot_dir; the door's request path then pulls the tar of that
// folder a chunk at a time, only when its peer has room, so what a snapshot holds in
// memory is about one chunk whatever the database's size. Destroying the source removes
// the folder: when the stream ends, fails, stalls past the idle timeout or its client goes
// away. A node that died mid-stream leaves folders behind; remove_stale_snapshots() clears
// them when the node starts.

#include "actors/node_context.hpp"
#include "protocol/messages.hpp"
#include "storage/error.hpp"
#include "util/directory_tar.hpp"
#include "util/sha256.hpp"

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

namespace revkv::actors {

// One of NodeContext::options.max_snapshots, held from the moment a request path takes a
// snapshot request until its stream is gone. Move-only; releases on destruction.
class SnapshotSlot {
 public:
  // Null when max_snapshots slots are held already.
  static std::unique_ptr<SnapshotSlot> acquire(NodeContext& ctx);
  ~SnapshotSlot();
  SnapshotSlot(const SnapshotSlot&) = delete;
  SnapshotSlot& operator=(const SnapshotSlot&) = delete;

 private:
  explicit SnapshotSlot(std::atomic<size_t>& open) : open_(open) {}
  std::atomic<size_t>& open_;
};

class SnapshotSource {
 public:
  // Checkpoints the backend into a fresh folder and measures its tar. Blocks (a flush and
  // the links): the maintenance actor calls it.
  static storage::Result<std::shared_ptr<SnapshotSource>> make(NodeContext& ctx);
  ~SnapshotSource();
  SnapshotSource(const SnapshotSource&) = delete;
  SnapshotSource& operator=(const SnapshotSource&) = delete;

  // The header to answer with: the watermark taken just before the checkpoint (the copy
  // holds at least that revision).
  const protocol::ResponseHeader& header() const { return header_; }
  uint64_t size() const { return tar_->size(); }
  uint64_t remaining() const { return tar_->size() - tar_->produced(); }
  bool done() const { return tar_->done(); }
  const std::filesystem::path& folder() const { return folder_; }

  // The next at most `max` bytes, read from the checkpoint's files now; the digest takes
  // them in.
  storage::Status next(std::size_t max, std::string& chunk);
  // Once done(): the SHA-256 of every byte sent (32 bytes).
  const std::string& sha256() const { return digest_; }

 private:
  SnapshotSource(protocol::ResponseHeader header, std::filesystem::path folder,
                 std::unique_ptr<util::DirectoryTar> tar);

  protocol::ResponseHeader header_;
  std::filesystem::path folder_;
  std::unique_ptr<util::DirectoryTar> tar_;
  util::Sha256 sha_;
  std::string digest_;
};

using SnapshotSourcePtr = std::shared_ptr<SnapshotSource>;

// Removes every snapshot folder left in `snapshot_dir` (by a node that stopped mid-stream).
// Only while this node holds the data dir's lock: nothing else uses the folder then.
void remove_stale_snapshots(const std::string& snapshot_dir);

}  // namespace revkv::actors
