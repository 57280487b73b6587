#include "storage/latest.hpp"

#include "storage/keyspace_set.hpp"
#include "storage/record.hpp"
#include "storage/revision.hpp"

namespace revkv::storage {
namespace {

// DO NOT CHANGE: names the partitioning the latest column is laid out for; absent while the
// column is not known to be complete.
constexpr std::string_view kLatestPartsKey = "revkv_latest_parts";
// Rebuild batches are cut at this size so memory stays bounded on a large store.
constexpr size_t kRebuildBatchBytes = 4u << 20;

}  // namespace

std::string latest_prefix(size_t part) {
  std::string out(2, '\0');
  out[0] = static_cast<char>((part >> 8) & 0xff);
  out[1] = static_cast<char>(part & 0xff);
  return out;
}

std::string latest_key(std::string_view prefix, std::string_view key) {
  std::string out;
  out.reserve(prefix.size() + key.size());
  out.append(prefix);
  out.append(key);
  return out;
}

std::optional<KeyValue> decode_latest(std::string_view key, std::string_view value) {
  auto kv = decode_key_value(value);
  if (!kv || !kv->key.empty()) return std::nullopt;  // the key is never stored in the value
  kv->key.assign(key);
  return kv;
}

Status ensure_latest(Backend& backend, const KeyspaceSet& keyspaces, int64_t current) {
  size_t parts = keyspaces.parts().size();
  if (parts > kMaxLatestParts) {
    return Error{Errc::invalid_argument,
                 "revkv: at most " + std::to_string(kMaxLatestParts) + " shards"};
  }
  const std::string marker = std::to_string(parts);
  auto stored = backend.get(Column::meta, kLatestPartsKey);
  if (!stored.ok()) return stored.error();
  if (stored->has_value() && **stored == marker) return {};

  // The marker goes first, with the old contents, so that a crash during the refill leaves
  // a store that rebuilds again on the next open.
  WriteBatch batch(backend);
  batch.erase(Column::meta, kLatestPartsKey);
  // Only a column that holds something is cleared: a new store then writes no range
  // tombstone, and the compaction below has nothing to do.
  bool holds_entries = false;
  REVKV_TRY(backend.scan(Column::latest, {}, {}, [&](std::string_view, std::string_view) {
    holds_entries = true;
    return false;
  }));
  if (holds_entries) {
    batch.erase_range(Column::latest, std::string_view{}, latest_prefix(kMaxLatestParts + 1));
  }
  REVKV_TRY(backend.write(batch, true));
  batch.clear();

  // A put record is copied when it is its key's newest record and the key is live.
  Status scan_error;
  REVKV_TRY(backend.scan(Column::kv, {}, {}, [&](std::string_view k, std::string_view v) {
    auto rev = decode_revision_key(k);
    if (!rev || rev->tombstone) return true;
    auto kv = decode_key_value(v);
    if (!kv) {
      scan_error = Error{Errc::corruption, "revkv: undecodable kv record during latest rebuild"};
      return false;
    }
    const Keyspace& owner = keyspaces.owner(kv->key);
    auto hit = owner.index().get(kv->key, current);
    if (!hit || !hit->newest || hit->modified != rev->rev) return true;
    // A new key of the emptied column: no early flush while it fills (Backend::write).
    batch.put_new(Column::latest, owner.latest_prefix(), kv->key,
                  encode_key_value_without_key(*kv));
    if (batch.byte_size() >= kRebuildBatchBytes) {
      scan_error = backend.write(batch, false);
      batch.clear();
      if (!scan_error.ok()) return false;
    }
    return true;
  }));
  REVKV_TRY(scan_error);
  if (!batch.empty()) REVKV_TRY(backend.write(batch, false));
  batch.clear();
  // Every iterator over the column checks each key against a range tombstone in it, until
  // RocksDB's own compactions drop it: one compaction of the rebuilt column drops it now.
  // Before the marker, so that a crash before the compaction ends rebuilds again.
  REVKV_TRY(backend.compact_column(Column::latest));
  // Synced: the WAL's order makes every batch above durable with it.
  batch.put(Column::meta, kLatestPartsKey, marker);
  return backend.write(batch, true);
}

}  // namespace revkv::storage
