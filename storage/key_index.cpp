#include "storage/key_index.hpp"

#include <algorithm>
#include <cassert>

namespace revkv::storage {

// -- KeyIndex ---------------------------------------------------------------------------------

void KeyIndex::put(Revision rev) {
  if (generations_.empty()) generations_.emplace_back();
  Generation& g = generations_.back();
  assert(g.revs.empty() || g.revs.back() < rev);
  if (g.empty()) g.created = rev;
  g.revs.push_back(rev);
  ++g.version;
}

void KeyIndex::tombstone(Revision rev) {
  assert(live());
  put(rev);
  generations_.emplace_back();
}

void KeyIndex::restore_put(Revision rev, Revision created, int64_t version) {
  assert(generations_.empty());
  generations_.push_back(Generation{version, created, {rev}});
}

void KeyIndex::restore_tombstone(Revision rev) {
  assert(generations_.empty());
  // The creating put was compacted away: creation unknown, one pair ever seen.
  generations_.push_back(Generation{1, Revision{}, {rev}});
  generations_.emplace_back();
}

std::optional<IndexHit> KeyIndex::get(int64_t at_rev) const {
  for (size_t i = generations_.size(); i-- > 0;) {
    const Generation& g = generations_[i];
    if (g.empty()) continue;
    bool closed = i + 1 < generations_.size();
    if (closed && g.revs.back().main <= at_rev) return std::nullopt;  // deleted by then
    if (g.revs.front().main > at_rev) continue;                       // created later
    // Newest pair with main <= at_rev.
    auto it = std::upper_bound(g.revs.begin(), g.revs.end(), at_rev,
                               [](int64_t r, const Revision& rev) { return r < rev.main; });
    --it;
    auto after = static_cast<int64_t>(g.revs.end() - it) - 1;
    return IndexHit{*it, g.created, g.version - after, after == 0 && !closed};
  }
  return std::nullopt;
}

bool KeyIndex::exists(int64_t at_rev) const {
  // get()'s walk without locating the record.
  for (size_t i = generations_.size(); i-- > 0;) {
    const Generation& g = generations_[i];
    if (g.empty()) continue;
    bool closed = i + 1 < generations_.size();
    if (closed && g.revs.back().main <= at_rev) return false;
    if (g.revs.front().main > at_rev) continue;
    return true;
  }
  return false;
}

bool KeyIndex::compact(int64_t at_rev, std::set<Revision>& keep) {
  std::vector<Generation> survivors;
  survivors.reserve(generations_.size());
  for (size_t i = 0; i < generations_.size(); ++i) {
    Generation& g = generations_[i];
    bool closed = i + 1 < generations_.size();
    if (g.empty()) {
      survivors.push_back(std::move(g));
      continue;
    }
    // A generation deleted strictly before the compaction point is gone; a tombstone
    // exactly at it stays until the next compaction (etcd >= 3.5.16).
    if (closed && g.revs.back().main < at_rev) continue;
    // Keep from the newest record at or below at_rev (all records at that main revision).
    auto first_after =
        std::upper_bound(g.revs.begin(), g.revs.end(), at_rev,
                         [](int64_t r, const Revision& rev) { return r < rev.main; });
    if (first_after != g.revs.begin()) {
      int64_t m = std::prev(first_after)->main;
      auto first_at_m =
          std::lower_bound(g.revs.begin(), first_after, m,
                           [](const Revision& rev, int64_t r) { return rev.main < r; });
      g.revs.erase(g.revs.begin(), first_at_m);
      for (const Revision& r : g.revs) {
        if (r.main > at_rev) break;
        keep.insert(r);
      }
    }
    survivors.push_back(std::move(g));
  }
  generations_ = std::move(survivors);
  bool has_records = std::any_of(generations_.begin(), generations_.end(),
                                 [](const Generation& g) { return !g.empty(); });
  if (!has_records) generations_.clear();
  return has_records;
}

std::optional<Revision> KeyIndex::newest_put(int64_t at_rev) const {
  for (size_t i = generations_.size(); i-- > 0;) {
    const Generation& g = generations_[i];
    if (g.empty() || g.revs.front().main > at_rev) continue;
    auto it = std::upper_bound(g.revs.begin(), g.revs.end(), at_rev,
                               [](int64_t r, const Revision& rev) { return r < rev.main; });
    --it;
    bool closed = i + 1 < generations_.size();
    if (closed && it + 1 == g.revs.end()) return std::nullopt;  // a tombstone
    return *it;
  }
  return std::nullopt;
}

size_t KeyIndex::revision_count() const {
  size_t n = 0;
  for (const Generation& g : generations_)
    n += g.revs.size();
  return n;
}

// -- TreeIndex --------------------------------------------------------------------------------

KeyIndex* TreeIndex::find(std::string_view key) {
  auto it = by_key_.find(key);
  return it == by_key_.end() ? nullptr : it->second;
}

const KeyIndex* TreeIndex::find(std::string_view key) const {
  auto it = by_key_.find(key);
  return it == by_key_.end() ? nullptr : it->second;
}

KeyIndex& TreeIndex::find_or_add(const std::string& key) {
  if (KeyIndex* ki = find(key)) return *ki;
  auto it = keys_.emplace(key, KeyIndex{}).first;
  by_key_.emplace(std::string_view(it->first), &it->second);
  return it->second;
}

void TreeIndex::put(const std::string& key, Revision rev) {
  find_or_add(key).put(rev);
  ++revisions_;
}

void TreeIndex::tombstone(const std::string& key, Revision rev) {
  KeyIndex* ki = find(key);
  assert(ki != nullptr);
  ki->tombstone(rev);
  ++revisions_;
}

void TreeIndex::restore(const std::string& key, Revision rev, bool tombstone, Revision created,
                        int64_t version) {
  KeyIndex* ki = find(key);
  if (ki == nullptr) {
    KeyIndex& added = find_or_add(key);
    if (tombstone) {
      added.restore_tombstone(rev);
    } else {
      added.restore_put(rev, created, version);
    }
  } else if (tombstone) {
    // A tombstone for a key that is not live means the history is inconsistent; etcd
    // would panic. Keep the index consistent instead of aborting.
    if (ki->live()) ki->tombstone(rev);
  } else {
    ki->put(rev);
  }
  ++revisions_;
}

std::optional<IndexHit> TreeIndex::get(std::string_view key, int64_t at_rev) const {
  const KeyIndex* ki = find(key);
  if (ki == nullptr) return std::nullopt;
  return ki->get(at_rev);
}

template <class F>
void TreeIndex::for_each_in(const KeyRange& range, F&& f) const {
  if (range.single()) {
    if (const KeyIndex* ki = find(range.start)) f(range.start, *ki);
    return;
  }
  const std::string& end = *range.end;
  bool bounded = !end.empty();
  if (bounded && end <= range.start) return;
  for (auto it = keys_.lower_bound(range.start); it != keys_.end(); ++it) {
    if (bounded && it->first >= end) break;
    if (!f(it->first, it->second)) break;
  }
}

void TreeIndex::visit(const KeyRange& range, int64_t at_rev,
                      const std::function<bool(const std::string&, const IndexHit&)>& f) const {
  for_each_in(range, [&](const std::string& key, const KeyIndex& ki) {
    auto hit = ki.get(at_rev);
    return !hit || f(key, *hit);
  });
}

int64_t TreeIndex::count(const KeyRange& range, int64_t at_rev) const {
  int64_t n = 0;
  for_each_in(range, [&](const std::string&, const KeyIndex& ki) {
    if (ki.exists(at_rev)) ++n;
    return true;
  });
  return n;
}

std::set<Revision> TreeIndex::compact(int64_t at_rev) {
  std::set<Revision> keep;
  size_t revisions = 0;
  for (auto it = keys_.begin(); it != keys_.end();) {
    if (it->second.compact(at_rev, keep)) {
      revisions += it->second.revision_count();
      ++it;
    } else {
      by_key_.erase(std::string_view(it->first));
      it = keys_.erase(it);
    }
  }
  revisions_ = revisions;
  return keep;
}

std::set<Revision> TreeIndex::keep(int64_t at_rev) const {
  std::set<Revision> out;
  for (const auto& [key, ki] : keys_) {
    if (auto r = ki.newest_put(at_rev)) out.insert(*r);
  }
  return out;
}

}  // namespace revkv::storage
