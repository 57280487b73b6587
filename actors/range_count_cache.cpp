#include "actors/range_count_cache.hpp"

#include "storage/range_rules.hpp"

namespace revkv::actors {

std::optional<int64_t> RangeCountCache::find(std::string_view start, std::string_view end,
                                             int64_t rev) {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(std::make_tuple(start, end, rev));
  if (it == entries_.end()) return std::nullopt;
  ages_.splice(ages_.begin(), ages_, it->second.age);
  return it->second.count;
}

void RangeCountCache::remember(const std::string& start, const std::string& end, int64_t rev,
                               int64_t count) {
  if (start.size() + end.size() > kMaxEntryKeyBytes || max_entries_ == 0) return;
  std::lock_guard lock(mutex_);
  auto [it, added] = entries_.try_emplace(Key{start, end, rev});
  if (added) {
    ages_.push_front(&it->first);
    it->second.age = ages_.begin();
    key_bytes_ += bytes_of(it->first);
  } else {
    ages_.splice(ages_.begin(), ages_, it->second.age);
  }
  it->second.count = count;
  evict_locked();
}

void RangeCountCache::evict_locked() {
  while (!ages_.empty() && (entries_.size() > max_entries_ || key_bytes_ > max_key_bytes_)) {
    const Key* oldest = ages_.back();
    ages_.pop_back();
    key_bytes_ -= bytes_of(*oldest);
    entries_.erase(entries_.find(*oldest));
  }
}

size_t RangeCountCache::size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

size_t RangeCountCache::key_bytes() const {
  std::lock_guard lock(mutex_);
  return key_bytes_;
}

PageCount::PageCount(const storage::RangeRequest& r, int64_t rev, RangeCountCache& cache)
    : cache_(cache), limit_(r.limit), rev_(rev) {
  if (storage::fetch_limit(r) <= 0 || storage::fetch_depth(r) == storage::FetchDepth::count) return;
  auto range = storage::KeyRange::from_request(r.key, r.range_end);
  if (range.single()) return;
  carried_ = true;
  end_ = std::move(*range.end);
  known_ = cache_.find(range.start, end_, rev_);
}

void PageCount::leave(const std::vector<storage::KeyValue>& fetched, int64_t count) const {
  if (!carried_ || static_cast<int64_t>(fetched.size()) <= limit_) return;
  cache_.remember(fetched[static_cast<size_t>(limit_) - 1].key + '\0', end_, rev_, count - limit_);
}

}  // namespace revkv::actors
