#include "storage/keyspace.hpp"

#include "storage/atomic_max.hpp"
#include "storage/latest.hpp"
#include "storage/record.hpp"

#include <algorithm>
#include <iterator>

namespace revkv::storage {
namespace {

// Below this many newest-record hits a range reads `kv` like a get: an iterator costs more
// than a point read or two.
constexpr size_t kMinLatestScan = 2;
// Above this many records in the overlay a range walks the index instead of scanning: the
// scan visits every overlay record to find the range's keys among them. A commit group in
// flight on one shard is usually far smaller.
constexpr size_t kMaxOverlayForScan = 256;
// A scan looks at `settled` again every this many entries, so that one overtaken by a
// follower's write wastes little before the index walk takes over.
constexpr size_t kSettledCheckEvery = 64;

}  // namespace

Keyspace::Keyspace(Backend& backend, size_t part)
    : backend_(backend), latest_prefix_(storage::latest_prefix(part)) {}

Result<KeyValue> read_put_record(const Backend& backend, Revision rev) {
  auto raw = backend.get(Column::kv, encode_revision_key(rev));
  if (!raw.ok()) return raw.error();
  if (!raw->has_value()) {
    return Error{Errc::corruption, "revkv: index names a record that is not stored: revision " +
                                       std::to_string(rev.main) + "_" + std::to_string(rev.sub)};
  }
  auto kv = decode_key_value(**raw);
  if (!kv) {
    return Error{Errc::corruption, "revkv: undecodable record at revision " +
                                       std::to_string(rev.main) + "_" + std::to_string(rev.sub)};
  }
  return std::move(*kv);
}

Result<KeyValue> Keyspace::read_record(Revision rev) const {
  if (auto it = pending_.find(rev); it != pending_.end()) return it->second;
  return read_put_record(backend_, rev);
}

Result<std::optional<KeyValue>> Keyspace::get(const std::string& key, int64_t rev) const {
  auto hit = index_.get(key, rev);
  if (!hit) return std::optional<KeyValue>{};
  auto kv = read_record(hit->modified);
  if (!kv.ok()) return kv.error();
  return std::optional<KeyValue>{std::move(*kv)};
}

Result<RangeFetch> Keyspace::range(const KeyRange& range, int64_t rev, int64_t limit,
                                   FetchDepth depth, Counting counting) const {
  if (depth == FetchDepth::values) {
    auto scanned = scan_newest(range, rev, limit, counting);
    if (!scanned.ok()) return scanned.error();
    if (scanned->has_value()) return std::move(**scanned);
  }
  RangeFetch out;
  if (depth == FetchDepth::count) {
    out.count = index_.count(range, rev);
    return out;
  }
  std::vector<Revision> wanted;
  // For FetchDepth::values: the hits that are their key's newest record (candidates for the
  // latest column), with their names (the index's strings, stable during this call).
  std::vector<size_t> heads;
  std::vector<IndexHit> hits;
  std::vector<const std::string*> names;
  // The first key past `limit`: the keys from there on are only counted (Counting::whole_range),
  // which the index's count does without building a hit and calling the visitor for each of
  // them (a LIST page otherwise walks every key to the end of the range this way), or not at
  // all (Counting::fetched_only).
  const std::string* past_limit = nullptr;
  index_.visit(range, rev, [&](const std::string& key, const IndexHit& hit) {
    if (limit > 0 && static_cast<int64_t>(wanted.size()) >= limit) {
      past_limit = &key;
      return false;
    }
    ++out.count;
    wanted.push_back(hit.modified);
    KeyValue kv;
    if (depth == FetchDepth::keys && hit.newest) {
      // Everything keys_only answers is in the index, and the lease the keyspace keeps is
      // that of the key's newest record, which this is.
      kv.key = key;
      kv.create_revision = hit.created.main;
      kv.mod_revision = hit.modified.main;
      kv.version = hit.version;
      kv.lease = lease_of(key);
    } else if (depth == FetchDepth::values && hit.newest) {
      heads.push_back(out.kvs.size());
      hits.push_back(hit);
      names.push_back(&key);
    }
    out.kvs.push_back(std::move(kv));
    return true;
  });
  if (past_limit != nullptr && counting == Counting::whole_range) {
    // From the first key past the limit (not fetched, not counted yet) to the range's end.
    out.count += index_.count(KeyRange{*past_limit, range.end}, rev);
  }
  if (heads.size() >= kMinLatestScan) REVKV_TRY(read_latest(heads, hits, names, out.kvs));
  REVKV_TRY(read_records(wanted, out.kvs));
  if (depth == FetchDepth::keys) {
    for (auto& kv : out.kvs)
      kv.value.clear();
  }
  return out;
}

Result<std::optional<RangeFetch>> Keyspace::scan_newest(const KeyRange& range, int64_t rev,
                                                        int64_t limit, Counting counting) const {
  using Answer = std::optional<RangeFetch>;
  // A single key is a hash lookup and a point read; a large overlay is walked by the index.
  if (range.single() || pending_.size() > kMaxOverlayForScan) return Answer{};
  if (rev < settled_.load()) return Answer{};  // RocksDB may hold what came after `rev`
  const std::string& end = *range.end;
  if (!end.empty() && end <= range.start) return Answer{RangeFetch{}};

  // The overlay's keys in the range, in key order: the column may lack their records at `rev`
  // or hold newer ones, so the index says what each was at `rev`.
  std::vector<const std::string*> overlay;
  for (const auto& [at, kv] : pending_) {
    if (range.contains(kv.key)) overlay.push_back(&kv.key);
  }
  std::sort(overlay.begin(), overlay.end(),
            [](const std::string* a, const std::string* b) { return *a < *b; });
  overlay.erase(std::unique(overlay.begin(), overlay.end(),
                            [](const std::string* a, const std::string* b) { return *a == *b; }),
                overlay.end());

  RangeFetch out;
  // A client's limit may be far larger than the range: the reservation is capped.
  if (limit > 0) out.kvs.reserve(static_cast<size_t>(std::min<int64_t>(limit, 1024)));
  auto room = [&] { return limit <= 0 || static_cast<int64_t>(out.kvs.size()) < limit; };
  Status failure;
  // A record above `rev`, or a write noted meanwhile: the column moved on. On a follower
  // applying entries (note_written_elsewhere) that happens; the scan then stops early and the
  // index answers.
  bool stale = false;
  size_t visited = 0;
  size_t next_overlay = 0;
  // Appends an overlay key as it stood at `rev`, if it existed then.
  auto add_overlay = [&]() {
    const std::string& key = *overlay[next_overlay++];
    auto hit = index_.get(key, rev);
    if (!hit) return true;
    auto kv = read_record(hit->modified);
    if (!kv.ok()) {
      failure = kv.error();
      return false;
    }
    out.kvs.push_back(std::move(*kv));
    return true;
  };
  const std::string from = latest_key(latest_prefix_, range.start);
  const std::string to = end.empty() ? prefix_end(latest_prefix_) : latest_key(latest_prefix_, end);
  REVKV_TRY(backend_.scan(Column::latest, from, to, [&](std::string_view k, std::string_view v) {
    std::string_view key = k.substr(latest_prefix_.size());
    if (++visited % kSettledCheckEvery == 0 && rev < settled_.load()) {
      stale = true;
      return false;
    }
    // Stops as soon as the page is full: not one entry more is read.
    while (next_overlay < overlay.size() && *overlay[next_overlay] < key) {
      if (!add_overlay() || !room()) return false;
    }
    if (next_overlay < overlay.size() && *overlay[next_overlay] == key) {
      return add_overlay() && room();
    }
    auto kv = decode_latest(key, v);
    if (!kv) {
      failure = Error{Errc::corruption, "revkv: undecodable record in the latest column"};
      return false;
    }
    if (kv->mod_revision > rev) {
      stale = true;
      return false;
    }
    out.kvs.push_back(std::move(*kv));
    return room();
  }));
  while (failure.ok() && !stale && next_overlay < overlay.size() && room()) {
    if (!add_overlay()) break;
  }
  REVKV_TRY(failure);
  // Checked after the iterator was made: a follower notes a write before making it, so a
  // write this scan could see is noted by now.
  if (stale || rev < settled_.load()) return Answer{};
  ++ranges_scanned_;

  out.count = static_cast<int64_t>(out.kvs.size());
  if (limit > 0 && out.count == limit && counting == Counting::whole_range) {
    // The keys after the page are counted by the index, from just past the last one fetched.
    std::string after = out.kvs.back().key;
    after.push_back('\0');
    out.count += index_.count(KeyRange{std::move(after), range.end}, rev);
  }
  return Answer{std::move(out)};
}

Status Keyspace::read_latest(const std::vector<size_t>& heads, const std::vector<IndexHit>& hits,
                             const std::vector<const std::string*>& names,
                             std::vector<KeyValue>& kvs) const {
  std::vector<std::string_view> keys;
  keys.reserve(names.size());
  for (const std::string* name : names)
    keys.push_back(*name);
  Status bad;
  REVKV_TRY(backend_.read_sorted(
      Column::latest, latest_prefix_, keys, [&](size_t i, std::string_view value) {
        auto kv = decode_latest(*names[i], value);
        if (!kv) {
          bad = Error{Errc::corruption, "revkv: undecodable record in the latest column"};
          return;
        }
        // The column may be ahead of the read (a write committed after the read's revision) or
        // behind it (a record still in the overlay): only exactly the indexed record is used.
        const IndexHit& hit = hits[i];
        if (kv->mod_revision != hit.modified.main || kv->create_revision != hit.created.main ||
            kv->version != hit.version) {
          return;
        }
        kvs[heads[i]] = std::move(*kv);
      }));
  return bad;
}

Status Keyspace::read_records(const std::vector<Revision>& wanted,
                              std::vector<KeyValue>& kvs) const {
  // Overlay hits are served from memory; the rest in one MultiGet. A record's key is never
  // empty, so an empty key marks a slot still to read.
  std::vector<std::string> keys;
  std::vector<size_t> slots;
  for (size_t i = 0; i < wanted.size(); ++i) {
    if (!kvs[i].key.empty()) continue;
    if (auto it = pending_.find(wanted[i]); it != pending_.end()) {
      kvs[i] = it->second;
    } else {
      keys.push_back(encode_revision_key(wanted[i]));
      slots.push_back(i);
    }
  }
  if (keys.size() == 1) {
    auto kv = read_put_record(backend_, wanted[slots[0]]);
    if (!kv.ok()) return kv.error();
    kvs[slots[0]] = std::move(*kv);
  } else if (!keys.empty()) {
    auto values = backend_.multi_get(Column::kv, keys);
    if (!values.ok()) return values.error();
    for (size_t j = 0; j < slots.size(); ++j) {
      const auto& v = (*values)[j];
      auto kv = v ? decode_key_value(*v) : std::nullopt;
      if (!kv) {
        return Error{Errc::corruption, "revkv: missing or undecodable record at revision " +
                                           std::to_string(wanted[slots[j]].main)};
      }
      kvs[slots[j]] = std::move(*kv);
    }
  }
  return {};
}

std::vector<std::string> Keyspace::keys(const KeyRange& range, int64_t rev) const {
  std::vector<std::string> out;
  index_.visit(range, rev, [&](const std::string& key, const IndexHit&) {
    out.push_back(key);
    return true;
  });
  return out;
}

KeyValue Keyspace::put(const std::string& key, std::string value, int64_t lease, Revision rev,
                       WriteBatch& batch) {
  KeyValue kv;
  kv.key = key;
  kv.mod_revision = rev.main;
  kv.value = std::move(value);
  kv.lease = lease;
  if (auto hit = index_.get(key, rev.main)) {
    kv.create_revision = hit->created.main;
    kv.version = hit->version + 1;
  } else {
    kv.create_revision = rev.main;
    kv.version = 1;
  }
  std::string record = encode_key_value(kv);
  batch.put(Column::kv, encode_revision_key(rev), record);
  // Same batch: the latest column never disagrees with kv after a crash. Its value is the
  // record without the key field, which encode_key_value writes first. A created key
  // (version 1) replaces no live record there: the backend counts it apart from overwrites.
  const std::string_view latest_value = std::string_view(record).substr(encoded_key_field_size(kv));
  if (kv.version == 1) {
    batch.put_new(Column::latest, latest_prefix_, key, latest_value);
  } else {
    batch.put(Column::latest, latest_prefix_, key, latest_value);
  }
  index_.put(key, rev);
  set_lease(key, lease);
  pending_.insert_or_assign(rev, kv);
  return kv;
}

void Keyspace::erase(const std::string& key, Revision rev, WriteBatch& batch) {
  KeyValue tomb;
  tomb.key = key;
  batch.put(Column::kv, encode_revision_key(rev, /*tombstone=*/true), encode_key_value(tomb));
  batch.erase(Column::latest, latest_key(latest_prefix_, key));
  index_.tombstone(key, rev);
  set_lease(key, 0);
  pending_.insert_or_assign(rev, std::move(tomb));
}

void Keyspace::mark_durable(int64_t rev) {
  auto durable_end = pending_.upper_bound(Revision{rev, INT64_MAX});
  // The newest record leaving the overlay, not `rev`: a shard without records between a
  // range's revision and the watermark can still scan at that revision.
  if (durable_end != pending_.begin()) raise_to(settled_, std::prev(durable_end)->first.main);
  pending_.erase(pending_.begin(), durable_end);
}

void Keyspace::note_written_elsewhere(int64_t rev) {
  raise_to(settled_, rev);
}

void Keyspace::restore(const KeyValue& record, Revision rev, bool tombstone) {
  raise_to(settled_, rev.main);
  index_.restore(record.key, rev, tombstone, Revision{record.create_revision, 0}, record.version);
  set_lease(record.key, tombstone ? 0 : record.lease);
}

void Keyspace::set_lease(const std::string& key, int64_t lease) {
  if (lease == 0 && key_lease_.empty()) return;  // the common case: no leases at all
  auto it = key_lease_.find(key);
  if (it != key_lease_.end()) {
    if (it->second == lease) return;
    auto owner = lease_keys_.find(it->second);
    owner->second.erase(key);
    if (owner->second.empty()) lease_keys_.erase(owner);
    if (lease == 0) {
      key_lease_.erase(it);
    } else {
      it->second = lease;
    }
  } else if (lease != 0) {
    key_lease_.emplace(key, lease);
  }
  if (lease != 0) lease_keys_[lease].insert(key);
}

int64_t Keyspace::lease_of(std::string_view key) const {
  // Most stores hold no key with a lease: no string built per key of a keys_only page.
  if (key_lease_.empty()) return 0;
  auto it = key_lease_.find(std::string(key));
  return it == key_lease_.end() ? 0 : it->second;
}

std::vector<std::string> Keyspace::keys_with_lease(int64_t lease) const {
  auto it = lease_keys_.find(lease);
  if (it == lease_keys_.end()) return {};
  return {it->second.begin(), it->second.end()};
}

Result<std::vector<std::string>> Keyspace::keys_with_lease_at(int64_t lease, int64_t rev) const {
  // A key attached at `rev` is attached now, unless a newer record (above `rev`, so still in
  // the overlay) changed that: those keys are candidates too. Each candidate is then read as
  // of `rev`.
  std::set<std::string> candidates;
  if (auto it = lease_keys_.find(lease); it != lease_keys_.end()) candidates = it->second;
  for (auto it = pending_.upper_bound(Revision{rev, INT64_MAX}); it != pending_.end(); ++it)
    candidates.insert(it->second.key);
  std::vector<std::string> out;
  for (const auto& key : candidates) {
    auto kv = get(key, rev);
    if (!kv.ok()) return kv.error();
    if (*kv && (*kv)->lease == lease) out.push_back(key);
  }
  return out;
}

}  // namespace revkv::storage
