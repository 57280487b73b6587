#pragma once

// The `latest` column family: every live key's newest record, ordered by key, so that a
// range at the newest revision is one iterator Seek and a Next per key instead of a point
// read per key (docs/STORAGE.md, "The latest column"). It is derived data: written in the
// same WriteBatch as the revision record it copies, never compacted, rebuilt from `kv` when
// it is missing or laid out for another shard count, and left out of hash_all and HashKV.
//
// Layout: key = 2-byte big-endian part (shard) number, then the user key; value = the
// record's mvccpb.KeyValue without its key (record.hpp). The part prefix keeps each shard's
// keys contiguous, so a shard scans only its own keys.

#include "storage/backend.hpp"
#include "storage/error.hpp"
#include "storage/types.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace revkv::storage {

class KeyspaceSet;

// The most parts (shards) the layout can name.
inline constexpr size_t kMaxLatestParts = 0xfffe;

std::string latest_prefix(size_t part);
std::string latest_key(std::string_view prefix, std::string_view key);
// The record stored for `key`; nullopt when the bytes do not decode.
std::optional<KeyValue> decode_latest(std::string_view key, std::string_view value);

// Called by recovery once the index is rebuilt: if the column was not written for exactly
// this partitioning (a store of the older format, a crash in the middle of a rebuild, a
// node restarted with another shard count), empties it and refills it from `kv` (one scan),
// then records the partitioning with a synced write. `current` is the newest revision.
Status ensure_latest(Backend& backend, const KeyspaceSet& keyspaces, int64_t current);

}  // namespace revkv::storage
