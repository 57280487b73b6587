#pragma once

// A page of a Range over several shards in one round. Keys are spread over the shards by
// their hash (storage::shard_of), so of a page's first `fetch` keys each of S shards holds
// about fetch / S, binomially spread around it. Each shard is asked for its share plus a
// margin instead of all `fetch` keys, and the answers are checked: when a shard that filled
// its share may hold a key the page needs, the page is fetched again the exact way (keys
// first, then only the page's values; docs/NODE.md "Ranges over several shards").

#include "storage/keyspace.hpp"

#include <cstddef>
#include <cstdint>
#include <vector>

namespace revkv::actors {

// How many of a page's first `fetch` keys each of `shards` shards is asked for: the mean
// share plus four standard deviations and 8, at most `fetch`. With hashed keys a page then
// needs a second round at most about once in 30,000 shard answers.
int64_t shard_share(int64_t fetch, size_t shards);

// Whether `parts` (each shard's keys in key order, at most `share` of them) hold the range's
// first `fetch` keys. A shard that returned fewer than `share` keys returned all it has; one
// that returned `share` may hold more after its last key L, and those are not needed only
// if at least `fetch` of the returned keys are at or before L.
bool shares_cover_page(const std::vector<storage::RangeFetch>& parts, int64_t share, int64_t fetch);

}  // namespace revkv::actors
