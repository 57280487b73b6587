#include "actors/page_shares.hpp"

#include <algorithm>
#include <cmath>

namespace revkv::actors {

int64_t shard_share(int64_t fetch, size_t shards) {
  if (shards <= 1) return fetch;
  const double p = 1.0 / static_cast<double>(shards);
  const double n = static_cast<double>(fetch);
  const double spread = std::sqrt(n * p * (1.0 - p));
  const auto share = static_cast<int64_t>(std::ceil(n * p + 4.0 * spread)) + 8;
  return std::min(share, fetch);
}

std::vector<size_t> short_shares(const std::vector<storage::RangeFetch>& parts, int64_t share,
                                 int64_t fetch) {
  std::vector<size_t> out;
  for (size_t i = 0; i < parts.size(); ++i) {
    const auto& part = parts[i];
    if (static_cast<int64_t>(part.kvs.size()) < share) continue;  // all this shard has
    const std::string& last = part.kvs.back().key;
    int64_t before = 0;  // returned keys at or before `last`, over every shard
    for (const auto& other : parts) {
      before += std::upper_bound(other.kvs.begin(), other.kvs.end(), last,
                                 [](const std::string& key, const storage::KeyValue& kv) {
                                   return key < kv.key;
                                 }) -
                other.kvs.begin();
    }
    if (before < fetch) out.push_back(i);
  }
  return out;
}

}  // namespace revkv::actors
