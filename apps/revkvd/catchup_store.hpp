#pragma once

// Where a fetched checkpoint waits and how it replaces a member's store (docs/CLUSTER.md
// "Catch-up from a peer's checkpoint"). The store is RocksDB's files directly in DATA_DIR
// (next to the raft/ directory), so the swap cannot be one rename of a directory; it is two
// idempotent phases driven by markers, each phase redone after a crash until it finished:
//
//   DATA_DIR/catchup/staging/   being received (discarded at every start)
//   DATA_DIR/catchup/staged/    complete, every file and the directory fsynced
//   DATA_DIR/catchup/READY      written (tmp + rename) once staged/ is complete
//   phase 1 (READY):    the store's files move to catchup/old/, READY becomes SWAPPING
//   phase 2 (SWAPPING): staged/'s files move into DATA_DIR, SWAPPING is removed
//
// The store is never opened in between: the swap runs before the node opens it, under
// RocksDB's own LOCK file, so a node still running on the directory is never disturbed.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

namespace revkv::apps {

struct CatchupPaths {
  explicit CatchupPaths(const std::filesystem::path& data_dir);
  std::filesystem::path data_dir, root, staging, staged, old, ready, swapping;
};

// Moves a complete `paths.staging` to `paths.staged` and writes READY naming `source` and
// `index`. False with `error` if a step failed (nothing is marked ready then).
bool mark_staged(const CatchupPaths& paths, const std::string& source, std::uint64_t index,
                 std::string& error);

// At start, before the store is opened: finishes an interrupted or pending swap and
// removes every other catch-up leftover. What was installed (READY's words), if anything.
// Throws std::runtime_error when a step fails (the node must not open a half-swapped store).
std::optional<std::string> install_staged_checkpoint(const std::filesystem::path& data_dir);

}  // namespace revkv::apps
