#include "storage/keyspace.hpp"

#include "storage/latest.hpp"
#include "storage/record.hpp"

namespace revkv::storage {
namespace {

// Below this many newest-record hits a range reads `kv` like a get: an iterator costs more
// than a point read or two.
constexpr size_t kMinLatestScan = 2;

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
  // record without the key field, which encode_key_value writes first.
  batch.put(Column::latest, latest_prefix_, key,
            std::string_view(record).substr(encoded_key_field_size(kv)));
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
  pending_.erase(pending_.begin(), pending_.upper_bound(Revision{rev, INT64_MAX}));
}

void Keyspace::restore(const KeyValue& record, Revision rev, bool tombstone) {
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
