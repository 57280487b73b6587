#pragma once

// The keyspaces a request runs against, with keys routed to their owner by hash. The
// single-store engine has one; the node's coordinator sees every shard's; a shard sees
// only its own. Multi-key reads merge the parts by key, so every partitioning answers alike.

#include "storage/keyspace.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace revkv::storage {

// The shard that owns `key` among `shards` (FNV-1a: stable across runs and builds).
size_t shard_of(std::string_view key, size_t shards);

// Merges the fetches of several partitions of one range: counts add up, key-values are
// ordered by key and cut to `limit` (<= 0: all).
RangeFetch merge_fetches(std::vector<RangeFetch> parts, int64_t limit);

class KeyspaceSet {
 public:
  // parts[i] owns the keys with shard_of(key, parts.size()) == i.
  explicit KeyspaceSet(std::vector<Keyspace*> parts) : parts_(std::move(parts)) {}

  Keyspace& owner(std::string_view key) const;
  const std::vector<Keyspace*>& parts() const { return parts_; }

  Result<std::optional<KeyValue>> get(const std::string& key, int64_t rev) const;
  bool exists(const std::string& key, int64_t rev) const;
  // As Keyspace::range, merged over the parts.
  Result<RangeFetch> range(const KeyRange& range, int64_t rev, int64_t limit,
                           FetchDepth depth = FetchDepth::values) const;
  std::vector<std::string> keys(const KeyRange& range, int64_t rev) const;
  int64_t lease_of(const std::string& key) const { return owner(key).lease_of(key); }
  // Keys attached to `lease`, in key order.
  std::vector<std::string> keys_with_lease(int64_t lease) const;

 private:
  std::vector<Keyspace*> parts_;
};

}  // namespace revkv::storage
