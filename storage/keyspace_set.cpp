#include "storage/keyspace_set.hpp"

#include <algorithm>

namespace revkv::storage {

size_t shard_of(std::string_view key, size_t shards) {
  if (shards <= 1) return 0;
  uint64_t h = 1469598103934665603ull;
  for (char c : key) {
    h ^= static_cast<uint8_t>(c);
    h *= 1099511628211ull;
  }
  return static_cast<size_t>(h % shards);
}

RangeFetch merge_fetches(std::vector<RangeFetch> parts, int64_t limit) {
  RangeFetch out;
  for (auto& part : parts) {
    out.count += part.count;
    for (auto& kv : part.kvs)
      out.kvs.push_back(std::move(kv));
  }
  // Keys are unique across partitions, so sorting the union is the merge.
  std::sort(out.kvs.begin(), out.kvs.end(),
            [](const KeyValue& a, const KeyValue& b) { return a.key < b.key; });
  if (limit > 0 && static_cast<int64_t>(out.kvs.size()) > limit) {
    out.kvs.resize(static_cast<size_t>(limit));
  }
  return out;
}

Keyspace& KeyspaceSet::owner(std::string_view key) const {
  return *parts_[shard_of(key, parts_.size())];
}

Result<std::optional<KeyValue>> KeyspaceSet::get(const std::string& key, int64_t rev) const {
  return owner(key).get(key, rev);
}

bool KeyspaceSet::exists(const std::string& key, int64_t rev) const {
  return owner(key).index().get(key, rev).has_value();
}

Result<RangeFetch> KeyspaceSet::range(const KeyRange& range, int64_t rev, int64_t limit,
                                      FetchDepth depth) const {
  if (parts_.size() == 1 || range.single()) {
    return range.single() ? owner(range.start).range(range, rev, limit, depth)
                          : parts_[0]->range(range, rev, limit, depth);
  }
  std::vector<RangeFetch> fetched;
  for (Keyspace* part : parts_) {
    auto got = part->range(range, rev, limit, depth);
    if (!got.ok()) return got.error();
    fetched.push_back(std::move(*got));
  }
  return merge_fetches(std::move(fetched), limit);
}

std::vector<std::string> KeyspaceSet::keys(const KeyRange& range, int64_t rev) const {
  if (range.single()) return owner(range.start).keys(range, rev);
  std::vector<std::string> out;
  for (Keyspace* part : parts_) {
    auto keys = part->keys(range, rev);
    out.insert(out.end(), std::make_move_iterator(keys.begin()),
               std::make_move_iterator(keys.end()));
  }
  if (parts_.size() > 1) std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> KeyspaceSet::keys_with_lease(int64_t lease) const {
  std::vector<std::string> out;
  for (Keyspace* part : parts_) {
    auto keys = part->keys_with_lease(lease);
    out.insert(out.end(), std::make_move_iterator(keys.begin()),
               std::make_move_iterator(keys.end()));
  }
  if (parts_.size() > 1) std::sort(out.begin(), out.end());
  return out;
}

}  // namespace revkv::storage
