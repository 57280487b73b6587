#pragma once

// The Raft snapshot's one buffer: a tag, the applied index it was taken at, and the state
// machine's descriptor (small: for revkv it will name a RocksDB checkpoint and where to fetch
// it, never the data itself; see docs/CLUSTER.md). libraft stores the buffer next to its log
// and sends it to a member that is too far behind for the log alone.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace revkv::cluster {

struct SnapshotHeader {
  std::uint64_t applied_index = 0;
  std::string descriptor;
};

std::string encode_snapshot(const SnapshotHeader& header);

// nullopt when `bytes` is not a buffer encode_snapshot() wrote (wrong tag, too short).
std::optional<SnapshotHeader> decode_snapshot(std::string_view bytes);

}  // namespace revkv::cluster
