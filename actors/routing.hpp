#pragma once

// Which actor serves a request: the shard that owns every key it touches, or — when it
// touches a range or keys of several shards — the coordinator (writes) or every shard
// (plain Range reads, merged by the session). Pure functions, unit-tested alone.

#include "storage/types.hpp"

#include <cstddef>
#include <optional>

namespace revkv::actors {

// The one shard owning every key the request can read or write, or nullopt when it
// touches a range or keys of more than one shard.
std::optional<size_t> single_shard(const storage::RangeRequest& r, size_t shards);
std::optional<size_t> single_shard(const storage::DeleteRangeRequest& r, size_t shards);
std::optional<size_t> single_shard(const storage::TxnRequest& r, size_t shards);

}  // namespace revkv::actors
