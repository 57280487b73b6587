#pragma once

// A page of a Range over several shards in one round. Keys are spread over the shards by
// their hash (storage::shard_of), so of a page's first `fetch` keys each of S shards holds
// about fetch / S, binomially spread around it for well-spread keys. Each shard is asked for
// its share plus a margin instead of all `fetch` keys, and the answers are checked: a shard
// that filled its share and may hold more of the page's keys is asked for the rest of them,
// from just after its last key (docs/NODE.md "Ranges over several shards").

#include "storage/keyspace.hpp"

#include <cstddef>
#include <cstdint>
#include <vector>

namespace revkv::actors {

// How many of a page's first `fetch` keys each of `shards` shards is asked for: the mean
// share plus four standard deviations and 8, at most `fetch`. With well-spread keys a page
// then needs a second round at most about once in 30,000 shard answers.
int64_t shard_share(int64_t fetch, size_t shards);

// The parts (each one shard's keys in key order, at most `share` of them) that may hold
// more of the range's first `fetch` keys than they returned, by position in `parts`; empty
// when the parts hold the page. A part with fewer than `share` keys returned all its shard
// has; one with `share` may hold more after its last key L, and those are not needed only
// if at least `fetch` of the returned keys are at or before L.
std::vector<size_t> short_shares(const std::vector<storage::RangeFetch>& parts, int64_t share,
                                 int64_t fetch);

}  // namespace revkv::actors
