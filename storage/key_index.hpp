#pragma once

// The in-memory key index (etcd's keyIndex / treeIndex model, SPEC §1.4): for every key
// its generations of revision pairs. Values are not held here; they stay in RocksDB.

#include "storage/revision.hpp"
#include "storage/types.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace revkv::storage {

struct Generation {
  int64_t version = 0;         // pairs ever appended, tombstone included; survives compaction
  Revision created;            // revision of the put that created this incarnation
  std::vector<Revision> revs;  // increasing; the last one of a closed generation is its tombstone

  bool empty() const { return revs.empty(); }
};

// Where a key stood at some revision.
struct IndexHit {
  Revision modified;  // the record to read
  Revision created;
  int64_t version = 0;
  // `modified` is the key's newest record: what the keyspace knows of the key's head (its
  // lease) describes this record too.
  bool newest = false;
};

class KeyIndex {
 public:
  // Appends a put.
  void put(Revision rev);
  // Appends a tombstone and opens a new, empty generation. Requires a live key.
  void tombstone(Revision rev);
  // Rebuild path: the first record seen for this key is a put with its stored metadata.
  void restore_put(Revision rev, Revision created, int64_t version);
  // Rebuild path: the first record seen for this key is a tombstone.
  void restore_tombstone(Revision rev);

  std::optional<IndexHit> get(int64_t at_rev) const;
  // get(at_rev).has_value(), cheaper: what counting needs.
  bool exists(int64_t at_rev) const;
  // True when the key has a live incarnation at the head (newest record is a put).
  bool live() const { return !generations_.empty() && !generations_.back().empty(); }
  // Compacts at `at_rev` (SPEC §5.2/5.3): drops what a read at >= at_rev can never need and
  // adds to `keep` the records with main <= at_rev that survive. Returns false when the
  // key is left with no records at all.
  bool compact(int64_t at_rev, std::set<Revision>& keep);
  // The key's newest record with main <= at_rev, if that record is a put.
  std::optional<Revision> newest_put(int64_t at_rev) const;
  size_t revision_count() const;
  const std::vector<Generation>& generations() const { return generations_; }

 private:
  std::vector<Generation> generations_;  // the last one is open (possibly empty)
};

class TreeIndex {
 public:
  TreeIndex() = default;
  // by_key_ points into keys_: copies would dangle.
  TreeIndex(const TreeIndex&) = delete;
  TreeIndex& operator=(const TreeIndex&) = delete;

  void put(const std::string& key, Revision rev);
  // Requires the key to be live.
  void tombstone(const std::string& key, Revision rev);
  void restore(const std::string& key, Revision rev, bool tombstone, Revision created,
               int64_t version);

  std::optional<IndexHit> get(std::string_view key, int64_t at_rev) const;

  // Calls f(key, hit) for every key of `range` existing at `at_rev`, in key order, until f
  // returns false.
  void visit(const KeyRange& range, int64_t at_rev,
             const std::function<bool(const std::string&, const IndexHit&)>& f) const;
  // Number of keys of `range` existing at `at_rev`.
  int64_t count(const KeyRange& range, int64_t at_rev) const;

  // Compacts every key; returns the surviving records with main <= at_rev.
  std::set<Revision> compact(int64_t at_rev);
  // HashKV's K: for every key its newest record <= at_rev if it is a put.
  std::set<Revision> keep(int64_t at_rev) const;

  size_t key_count() const { return keys_.size(); }
  size_t revision_count() const { return revisions_; }

 private:
  template <class F>
  void for_each_in(const KeyRange& range, F&& f) const;
  KeyIndex* find(std::string_view key);
  const KeyIndex* find(std::string_view key) const;
  KeyIndex& find_or_add(const std::string& key);

  // Ordered for ranges; the hash map answers point lookups (every put, delete, get and
  // rebuilt record) without walking the tree. Its views point at the tree's keys, whose
  // nodes never move.
  std::map<std::string, KeyIndex, std::less<>> keys_;
  std::unordered_map<std::string_view, KeyIndex*> by_key_;
  size_t revisions_ = 0;
};

}  // namespace revkv::storage
