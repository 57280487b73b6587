#pragma once

// The Raft entry a commit group travels in (docs/CLUSTER.md "Replicated writes"): who
// proposed it, the newest revision it holds, and the group's RocksDB batch as its
// serialized representation. Every member applies the same batch; the proposer's own shards
// already hold its records, every other member's shards restore them from the batch.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace revkv::actors {

struct ReplicatedEntry {
  uint64_t proposer = 0;      // member id
  uint64_t incarnation = 0;   // the proposer's process start (ClusterLink::incarnation)
  int64_t last_revision = 0;  // the newest revision in the batch (0: records without one)
  // The proposer's shard count: the `latest` column's keys in the batch are laid out per
  // shard (storage/latest.hpp), so every member must run the same --shards.
  uint64_t shards = 0;
  // The batch's storage::WriteBatch::latest_new_keys(), which its data does not hold: every
  // member's backend counts the records of new keys apart when it decides on an early flush
  // of the `latest` column (docs/STORAGE.md "Overwritten records"). 0 in an entry of the
  // previous format.
  int64_t latest_new_keys = 0;
  std::string_view batch;  // storage::WriteBatch::data()
};

std::string encode_replicated_entry(const ReplicatedEntry& entry);
// Empty when the bytes are not an entry of this format (a different version, too short).
std::optional<ReplicatedEntry> decode_replicated_entry(std::string_view bytes);

}  // namespace revkv::actors
