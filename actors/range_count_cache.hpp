#pragma once

// The count a LIST's next page will need, carried from the page before it.
//
// etcd's Range answers `count`, the number of keys of the whole range at the read revision,
// on every page. A LIST reads [start, end) page by page, each page starting just after the
// previous page's last key, at the revision the first page was read at (or at the current
// one, unchanged while nothing is written). Walking the rest of the range on every page to
// count it costs each page in proportion to what is left of the range, the whole LIST in
// proportion to the square of its length over the page size. But the count of a page's
// continuation is known when the page is answered: the keys of [last key + "\0", end) at that
// revision are the page's count minus the `limit` keys it returned. The request path records
// that here, and the next page, on any door of this node, finds it instead of walking.
//
// A count at a revision never changes: compaction at C <= rev keeps every record a read at
// rev needs (a read below C is refused, by the request path or, when the compaction overtook
// it, by the shard), and only committed revisions (<= W) are read, which no leadership change
// rewrites. So an entry is valid for as long as
// it is kept; the cache is bounded in entries and in key bytes, and forgets the least
// recently used. Thread-safe: every door of the node shares one (NodeContext).

#include "storage/types.hpp"

#include <cstddef>
#include <cstdint>
#include <list>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

namespace revkv::actors {

class RangeCountCache {
 public:
  // A continuation whose two keys together are longer than this is not kept (a LIST's keys
  // are short; a huge key would only push the others out).
  static constexpr size_t kMaxEntryKeyBytes = 4096;

  explicit RangeCountCache(size_t max_entries = 1024, size_t max_key_bytes = 1u << 20)
      : max_entries_(max_entries), max_key_bytes_(max_key_bytes) {}
  RangeCountCache(const RangeCountCache&) = delete;
  RangeCountCache& operator=(const RangeCountCache&) = delete;

  // The number of keys of [start, end) that exist at `rev`, if a page recorded it.
  std::optional<int64_t> find(std::string_view start, std::string_view end, int64_t rev);
  // Records that [start, end) holds `count` keys at `rev`.
  void remember(const std::string& start, const std::string& end, int64_t rev, int64_t count);

  size_t size() const;
  size_t key_bytes() const;

 private:
  using Key = std::tuple<std::string, std::string, int64_t>;  // start, end, rev
  struct Slot {
    int64_t count = 0;
    // Its place in ages_, which points at the entry's key (a map's keys never move).
    std::list<const Key*>::iterator age;
  };

  static size_t bytes_of(const Key& k) { return std::get<0>(k).size() + std::get<1>(k).size(); }
  void evict_locked();

  const size_t max_entries_;
  const size_t max_key_bytes_;
  mutable std::mutex mutex_;
  std::map<Key, Slot, std::less<>> entries_;  // found by views, without copying the keys
  // Most recently used first.
  std::list<const Key*> ages_;
  size_t key_bytes_ = 0;
};

// One Range request's part in the carrying: the count a previous page left for it, if any
// (looked up when it is made), and the count it leaves for its own continuation once fetched.
// Only a fetch that is the range's first limit + 1 keys in key order takes or leaves one
// (storage::fetch_limit > 0: a limit, no sort order, no revision filter; whatever the answer
// is sorted by afterwards, the fetch is that), and not count_only, which fetches no key.
class PageCount {
 public:
  PageCount(const storage::RangeRequest& r, int64_t rev, RangeCountCache& cache);

  // The range's count, carried: the shards need count only what they fetch.
  const std::optional<int64_t>& known() const { return known_; }
  // `fetched`: the fetch, in key order; `count`: the range's. With more than `limit` keys
  // fetched, the continuation [the limit-th key + "\0", end) holds `count` less those keys.
  void leave(const std::vector<storage::KeyValue>& fetched, int64_t count) const;

 private:
  RangeCountCache& cache_;
  const int64_t limit_;
  const int64_t rev_;
  bool carried_ = false;  // takes and leaves counts at all
  std::string end_;
  std::optional<int64_t> known_;
};

}  // namespace revkv::actors
