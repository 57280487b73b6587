#pragma once

// Which actor serves a request: the shard that owns every key it touches, or — when it
// touches a range or keys of several shards — the coordinator (writes) or every shard
// (plain Range reads, merged by the session). Pure functions, unit-tested alone.
//
// route() is the whole decision for one request, shared by the session (actors/session.cpp)
// and the in-process test harness (tests/actors/), so both send a request to the same actor.

#include "protocol/messages.hpp"
#include "storage/types.hpp"

#include <cstddef>
#include <optional>

namespace revkv::actors {

// The one shard owning every key the request can read or write, or nullopt when it
// touches a range or keys of more than one shard.
std::optional<size_t> single_shard(const storage::RangeRequest& r, size_t shards);
std::optional<size_t> single_shard(const storage::DeleteRangeRequest& r, size_t shards);
std::optional<size_t> single_shard(const storage::TxnRequest& r, size_t shards);

// Where a request goes: one shard (`shard`), every shard (a Range whose parts the caller
// merges), the coordinator (a multi-shard write), the maintenance actor or the lessor.
enum class Target : uint8_t { owner_shard, all_shards, coordinator, maintenance, lessor };

struct Route {
  Target target = Target::owner_shard;
  size_t shard = 0;  // with Target::owner_shard
  friend bool operator==(const Route&, const Route&) = default;
};

Route route(const storage::RangeRequest& r, size_t shards);        // owner shard or all shards
Route route(const storage::PutRequest& r, size_t shards);          // owner shard
Route route(const storage::DeleteRangeRequest& r, size_t shards);  // owner shard or coordinator
Route route(const storage::TxnRequest& r, size_t shards);          // owner shard or coordinator
// Compact, HashKV, Hash, Status, Defragment, Alarm: the maintenance actor.
Route route(const protocol::CompactionRequest& r, size_t shards);
Route route(const protocol::HashKVRequest& r, size_t shards);
Route route(const protocol::HashRequest& r, size_t shards);
Route route(const protocol::StatusRequest& r, size_t shards);
Route route(const protocol::DefragmentRequest& r, size_t shards);
Route route(const protocol::AlarmRequest& r, size_t shards);
// Lease.*: the lessor.
Route route(const protocol::LeaseGrantRequest& r, size_t shards);
Route route(const protocol::LeaseRevokeRequest& r, size_t shards);
Route route(const protocol::LeaseKeepAliveRequest& r, size_t shards);
Route route(const protocol::LeaseTimeToLiveRequest& r, size_t shards);
Route route(const protocol::LeaseLeasesRequest& r, size_t shards);

}  // namespace revkv::actors
