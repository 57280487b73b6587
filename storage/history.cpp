#include "storage/history.hpp"

#include "storage/crc32c.hpp"
#include "storage/latest.hpp"
#include "storage/record.hpp"

#include <algorithm>
#include <limits>

namespace revkv::storage {
namespace {

// DO NOT CHANGE: meta keys as etcd names them, and our format marker.
constexpr std::string_view kScheduledCompactKey = "scheduledCompactRev";
constexpr std::string_view kFinishedCompactKey = "finishedCompactRev";
constexpr std::string_view kFormatKey = "revkv_storage_format";
constexpr std::string_view kFormatVersion = "1";
const std::string kHashSeed = "key";

Result<std::optional<int64_t>> read_meta_revision(const Backend& backend, std::string_view key) {
  auto raw = backend.get(Column::meta, key);
  if (!raw.ok()) return raw.error();
  if (!raw->has_value()) return std::optional<int64_t>{};
  auto decoded = decode_revision_key(**raw);
  if (!decoded) return Error{Errc::corruption, "revkv: bad meta record " + std::string(key)};
  return std::optional<int64_t>{decoded->rev.main};
}

// HashKV's per-record rule (SPEC §9): which records of the kv keyspace enter the hash.
bool hash_includes(const DecodedRevisionKey& rec, int64_t lower, const std::set<Revision>& keep) {
  if (rec.rev.main <= lower && !keep.empty() && !keep.contains(rec.rev)) return false;
  if (rec.tombstone && rec.rev.main == lower) return false;
  return true;
}

}  // namespace

Result<RecoveredState> recover_history(Backend& backend, const KeyspaceSet& keyspaces,
                                       int64_t min_lease_ttl) {
  auto format = backend.get(Column::meta, kFormatKey);
  if (!format.ok()) return format.error();
  if (format->has_value() && **format != kFormatVersion) {
    return Error{Errc::corruption, "revkv: unsupported storage format " + **format};
  }
  if (!format->has_value()) {
    WriteBatch b(backend);
    b.put(Column::meta, kFormatKey, kFormatVersion);
    REVKV_TRY(backend.write(b, true));
  }

  auto scheduled = read_compaction_schedule(backend);
  if (!scheduled.ok()) return scheduled.error();
  auto finished = read_meta_revision(backend, kFinishedCompactKey);
  if (!finished.ok()) return finished.error();

  RecoveredState out;
  out.compact = finished->value_or(-1);

  // Index rebuild: one scan of kv in revision order (SPEC §6 step 2).
  int64_t last_main = 0;
  Status scan_error;
  REVKV_TRY(backend.scan(Column::kv, {}, {}, [&](std::string_view k, std::string_view v) {
    auto rev = decode_revision_key(k);
    auto kv = rev ? decode_key_value(v, /*with_value=*/false) : std::nullopt;
    if (!kv || kv->key.empty()) {
      scan_error = Error{Errc::corruption, "revkv: undecodable kv record during index rebuild"};
      return false;
    }
    keyspaces.owner(kv->key).restore(*kv, rev->rev, rev->tombstone);
    last_main = rev->rev.main;
    return true;
  }));
  REVKV_TRY(scan_error);
  // Never backwards, even if compaction removed the newest records (SPEC §6 step 3).
  out.current = std::max({int64_t{1}, last_main, finished->value_or(0), scheduled->value_or(0)});
  // The latest column is derived from kv and the rebuilt index: refilled when it is not
  // known complete for this partitioning (an older store, another shard count).
  REVKV_TRY(ensure_latest(backend, keyspaces, out.current));

  REVKV_TRY(backend.scan(Column::lease, {}, {}, [&](std::string_view, std::string_view v) {
    auto rec = decode_lease_record(v);
    if (!rec) {
      scan_error = Error{Errc::corruption, "revkv: undecodable lease record"};
      return false;
    }
    rec->ttl = std::max(rec->ttl, min_lease_ttl);
    out.leases[rec->id] = *rec;
    return true;
  }));
  REVKV_TRY(scan_error);

  if (scheduled->has_value() && **scheduled > out.compact) out.unfinished_compaction = **scheduled;
  return out;
}

Status persist_compaction_schedule(Backend& backend, int64_t revision) {
  WriteBatch b(backend);
  stage_compaction_schedule(b, revision);
  return backend.write(b, true);
}

void stage_compaction_schedule(WriteBatch& batch, int64_t revision) {
  batch.put(Column::meta, kScheduledCompactKey, encode_revision_key(Revision{revision, 0}));
}

Result<std::optional<int64_t>> read_compaction_schedule(const Backend& backend) {
  return read_meta_revision(backend, kScheduledCompactKey);
}

Result<bool> stage_compaction_schedule_if_newer(WriteBatch& batch, const Backend& backend,
                                                int64_t revision) {
  auto scheduled = read_compaction_schedule(backend);
  if (!scheduled.ok()) return scheduled.error();
  if (scheduled->has_value() && **scheduled >= revision) return false;
  stage_compaction_schedule(batch, revision);
  return true;
}

CompactionJob::CompactionJob(int64_t revision, int64_t previous, std::set<Revision> keep,
                             bool resumed)
    : revision_(revision),
      previous_(previous),
      keep_(std::move(keep)),
      resumed_(resumed),
      hash_(crc32c_extend(0, kHashSeed)) {}

Result<bool> CompactionJob::step(Backend& backend, int64_t batch_limit) {
  WriteBatch batch(backend);
  int64_t scanned = 0;
  bool more = false;
  std::string end = encode_revision_key(Revision{revision_ + 1, 0});
  std::string last_key;
  Status scan_error;
  REVKV_TRY(backend.scan(Column::kv, next_key_, end, [&](std::string_view k, std::string_view v) {
    if (scanned == batch_limit) {
      more = true;
      return false;
    }
    ++scanned;
    auto rec = decode_revision_key(k);
    if (!rec) {
      scan_error = Error{Errc::corruption, "revkv: bad revision key during compaction"};
      return false;
    }
    if (!resumed_ && hash_includes(*rec, previous_, keep_)) {
      hash_ = crc32c_extend(hash_, k);
      hash_ = crc32c_extend(hash_, v);
    }
    if (!keep_.contains(rec->rev)) {
      batch.erase(Column::kv, k);
      ++removed_;
    }
    last_key.assign(k);
    return true;
  }));
  REVKV_TRY(scan_error);
  if (more) {
    next_key_ = last_key + '\0';  // the smallest key after last_key
  } else {
    batch.put(Column::meta, kFinishedCompactKey, encode_revision_key(Revision{revision_, 0}));
  }
  REVKV_TRY(backend.write(batch, true));
  return !more;
}

Result<uint32_t> compute_hash(const Backend& backend, int64_t hash_rev, int64_t compact,
                              const std::set<Revision>& keep) {
  uint32_t hash = crc32c_extend(0, kHashSeed);
  // A negative revision hashes no record, as etcd's HashByRev (no key is below rev + 1);
  // its end key would wrap to above every record (keys encode as unsigned).
  if (hash_rev < 0) return hash;
  Status scan_error;
  REVKV_TRY(backend.scan(Column::kv, {}, encode_revision_key(Revision{hash_rev + 1, 0}),
                         [&](std::string_view k, std::string_view v) {
                           auto rec = decode_revision_key(k);
                           if (!rec) {
                             scan_error = Error{Errc::corruption, "revkv: bad revision key"};
                             return false;
                           }
                           if (hash_includes(*rec, compact, keep)) {
                             hash = crc32c_extend(hash, k);
                             hash = crc32c_extend(hash, v);
                           }
                           return true;
                         }));
  REVKV_TRY(scan_error);
  return hash;
}

Result<std::vector<Event>> read_events(const Backend& backend, int64_t from, int64_t to) {
  auto window = read_event_window(backend, from, to, std::numeric_limits<size_t>::max());
  if (!window.ok()) return window.error();
  return std::move(window->events);
}

Result<EventWindow> read_event_window(const Backend& backend, int64_t from, int64_t to,
                                      size_t max_bytes) {
  EventWindow out;
  out.last = to;
  if (from > to) return out;
  Status scan_error;
  REVKV_TRY(backend.scan(Column::kv, encode_revision_key(Revision{from, 0}),
                         encode_revision_key(Revision{to + 1, 0}),
                         [&](std::string_view k, std::string_view v) {
                           auto rec = decode_revision_key(k);
                           auto kv = rec ? decode_key_value(v) : std::nullopt;
                           if (!kv) {
                             scan_error = Error{Errc::corruption, "revkv: undecodable kv record"};
                             return false;
                           }
                           int64_t rev = rec->rev.main;
                           // A new revision starts: stop before it once the budget is spent
                           // (a revision is never split).
                           if (!out.events.empty() && rev != out.events.back().kv.mod_revision &&
                               out.bytes >= max_bytes) {
                             out.last = rev - 1;
                             return false;
                           }
                           Event ev;
                           if (rec->tombstone) {
                             ev.type = Event::Type::del;
                             ev.kv.key = std::move(kv->key);
                             ev.kv.mod_revision = rev;
                           } else {
                             ev.kv = std::move(*kv);
                           }
                           out.bytes += ev.kv.key.size() + ev.kv.value.size();
                           out.events.push_back(std::move(ev));
                           return true;
                         }));
  REVKV_TRY(scan_error);
  return out;
}

}  // namespace revkv::storage
