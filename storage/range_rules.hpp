#pragma once

// etcd's Range pipeline (SPEC §3.3) as pure functions, so that the single-store engine and
// the sharded node (which fetches from several shards and merges) share one definition.

#include "storage/error.hpp"
#include "storage/types.hpp"

#include <cstdint>

namespace revkv::storage {

// Static checks: empty key, sort options.
Status validate_range(const RangeRequest& request);

// The revision a range reads at, given the view's current and compact revisions
// (SPEC §2.2 steps 1-3).
Result<int64_t> resolve_read_revision(int64_t requested, int64_t current, int64_t compact);

// How many keys (in key order) the fetch must return: 0 = all (SPEC §3.3 step 1).
int64_t fetch_limit(const RangeRequest& request);

// What a range must read besides the key index. The index knows each key's name, revisions
// and version; only values (and the lease of a record older than the key's newest) are in
// RocksDB.
enum class FetchDepth {
  count,   // count_only: the count alone, no key-value at all
  keys,    // keys_only, not sorted by value: key-values without values
  values,  // everything
};
FetchDepth fetch_depth(const RangeRequest& request);

// What a fetch with a limit counts. A caller that knows the range's count already (a LIST
// page whose count the previous page carried, actors/range_count_cache.hpp) asks for the keys
// it fetches only, and spares the walk over the rest of the range.
enum class Counting {
  whole_range,   // count every key of the range
  fetched_only,  // count only the keys fetched (at most `limit`)
};

// Steps 3-7: filters, sort, truncate, keys_only / count_only. `kvs` are the fetched
// key-values in key order, `count` the number of keys in the range.
RangeResponse finish_range(const RangeRequest& request, std::vector<KeyValue> kvs, int64_t count,
                           int64_t header_revision);

}  // namespace revkv::storage
