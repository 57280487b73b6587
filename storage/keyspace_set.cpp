#include "storage/keyspace_set.hpp"

#include <algorithm>
#include <queue>
#include <utility>

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
  // Each part is in key order and keys are unique across parts: a k-way merge that stops at
  // `limit` moves each kept key-value once and never touches the rest (each shard fetched
  // at most `limit` of its own).
  RangeFetch out;
  size_t total = 0;
  for (const auto& part : parts) {
    out.count += part.count;
    total += part.kvs.size();
  }
  size_t want = limit > 0 ? std::min(total, static_cast<size_t>(limit)) : total;
  out.kvs.reserve(want);
  using Head = std::pair<size_t, size_t>;  // (part, position)
  auto later = [&](const Head& a, const Head& b) {
    return parts[a.first].kvs[a.second].key > parts[b.first].kvs[b.second].key;
  };
  std::priority_queue<Head, std::vector<Head>, decltype(later)> heads(later);
  for (size_t i = 0; i < parts.size(); ++i) {
    if (!parts[i].kvs.empty()) heads.emplace(i, 0);
  }
  while (out.kvs.size() < want && !heads.empty()) {
    auto [part, pos] = heads.top();
    heads.pop();
    out.kvs.push_back(std::move(parts[part].kvs[pos]));
    if (pos + 1 < parts[part].kvs.size()) heads.emplace(part, pos + 1);
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
