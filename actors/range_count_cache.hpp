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
// rev needs (a read below C is refused before it gets here), and only committed revisions
// (<= W) are read, which no leadership change rewrites. So an entry is valid for as long as
// it is kept; the cache is bounded in entries and in key bytes, and forgets the least
// recently used. Thread-safe: every door of the node shares one (NodeContext).

#include <cstddef>
#include <cstdint>
#include <list>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <tuple>

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
  std::optional<int64_t> find(const std::string& start, const std::string& end, int64_t rev);
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
  std::map<Key, Slot> entries_;
  // Most recently used first.
  std::list<const Key*> ages_;
  size_t key_bytes_ = 0;
};

}  // namespace revkv::actors
