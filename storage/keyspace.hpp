#pragma once

// A keyspace: a key index (or one shard's partition of it) over the shared backend. It
// applies puts and deletes at revisions chosen by the caller, staging the records into the
// caller's WriteBatch, and reads records at any revision the index still covers. Records
// written but not yet committed are kept in a small overlay so that later writes and reads
// of the same transaction (or of the next one, while a group commit is in flight) see them.

#include "storage/backend.hpp"
#include "storage/error.hpp"
#include "storage/key_index.hpp"
#include "storage/range_rules.hpp"
#include "storage/types.hpp"

#include <atomic>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

namespace revkv::storage {

struct RangeFetch {
  std::vector<KeyValue> kvs;  // at most the fetch limit, in key order
  int64_t count = 0;          // every key of the range existing at the revision
};

class Keyspace {
 public:
  // `part`: this keyspace's shard number, which names its keys in the `latest` column
  // (storage/latest.hpp); the single-store engine has part 0.
  explicit Keyspace(Backend& backend, size_t part = 0);

  // The key as of `rev`, with its stored value and lease.
  Result<std::optional<KeyValue>> get(const std::string& key, int64_t rev) const;
  // Keys of `range` existing at `rev`, in key order: the first `limit` of them (limit <= 0:
  // all) as deep as `depth` asks, and the count of all. Only FetchDepth::values reads
  // every value; FetchDepth::keys reads a record only for a key whose newest record is
  // newer than `rev` (its lease then is not the one the keyspace keeps); FetchDepth::count
  // reads nothing and holds nothing per key. FetchDepth::values at or above what RocksDB
  // holds is one scan of the `latest` column with the overlay's keys merged in (no index
  // walk); otherwise values of keys whose record at `rev` is their newest come from one
  // ordered read of that column, the others (a read in the past, a record not yet in
  // RocksDB) from the overlay or one sorted MultiGet of `kv` (docs/STORAGE.md).
  // Counting::fetched_only stops at the limit: the count is then that of the keys fetched.
  Result<RangeFetch> range(const KeyRange& range, int64_t rev, int64_t limit,
                           FetchDepth depth = FetchDepth::values,
                           Counting counting = Counting::whole_range) const;
  // Keys of `range` existing at `rev`, names only.
  std::vector<std::string> keys(const KeyRange& range, int64_t rev) const;

  // Writes `kv.key` at `rev` with value and lease from `kv`; create_revision and version
  // come from the index. Returns the record as written.
  KeyValue put(const std::string& key, std::string value, int64_t lease, Revision rev,
               WriteBatch& batch);
  // Writes a tombstone for a live key.
  void erase(const std::string& key, Revision rev, WriteBatch& batch);
  // Records with main revision <= rev are in RocksDB now: drop them from the overlay.
  void mark_durable(int64_t rev);

  // Rebuild path (records in revision order), and a follower's replicated records, which
  // are in RocksDB already.
  void restore(const KeyValue& record, Revision rev, bool tombstone);
  // Records up to `rev` may reach RocksDB without passing through this keyspace's overlay
  // (a follower writing another member's entry before its records are restored here). Call
  // before the write; safe from any thread.
  void note_written_elsewhere(int64_t rev);

  // Lease attachment (SPEC §8.3): a key belongs to the lease named by its newest record.
  // Derived from the records, so it is rebuilt with the index.
  int64_t lease_of(std::string_view key) const;
  std::vector<std::string> keys_with_lease(int64_t lease) const;
  // The keys attached to `lease` as a read at `rev` sees them (LeaseTimeToLive): a key whose
  // attaching put is above `rev` is not listed, a key detached above `rev` still is. The
  // overlay must hold every record above `rev` (call after mark_durable(rev), not later).
  Result<std::vector<std::string>> keys_with_lease_at(int64_t lease, int64_t rev) const;

  // Ranges answered by scan_newest (the rest walked the index): for tests and benchmarks.
  uint64_t ranges_scanned() const { return ranges_scanned_; }

  const std::string& latest_prefix() const { return latest_prefix_; }
  TreeIndex& index() { return index_; }
  const TreeIndex& index() const { return index_; }
  Backend& backend() const { return backend_; }

 private:
  Result<KeyValue> read_record(Revision rev) const;
  // Fills the records of `wanted` into `kvs` (same positions) that `kvs` does not hold yet
  // (an empty key), from the overlay or in one MultiGet.
  Status read_records(const std::vector<Revision>& wanted, std::vector<KeyValue>& kvs) const;
  void set_lease(const std::string& key, int64_t lease);
  // Fills the slots of `heads` (positions in `kvs`, whose hits are their keys' newest
  // records) from the latest column where it holds exactly the record the index names.
  // Slots it cannot fill stay empty for read_records.
  Status read_latest(const std::vector<size_t>& heads, const std::vector<IndexHit>& hits,
                     const std::vector<const std::string*>& names,
                     std::vector<KeyValue>& kvs) const;
  // A range at `rev` answered by scanning the latest column alone, with the overlay's keys
  // merged in from the index: nullopt when the column cannot be trusted at `rev` (a read
  // older than what RocksDB already holds, or a large overlay), and the caller walks the
  // index instead.
  Result<std::optional<RangeFetch>> scan_newest(const KeyRange& range, int64_t rev, int64_t limit,
                                                Counting counting) const;

  Backend& backend_;
  std::string latest_prefix_;
  TreeIndex index_;
  // Written, not yet known durable: puts, and tombstones (key only), which no read looks up
  // but scan_newest and keys_with_lease_at need to know of.
  std::map<Revision, KeyValue> pending_;
  // Every record of this keyspace that RocksDB may hold and the overlay does not has a main
  // revision <= this: records leave the overlay, are restored or are noted here. So at any
  // revision at or above it, a key the overlay does not name stands in RocksDB's latest
  // column exactly as it stood at that revision (scan_newest). Atomic for
  // note_written_elsewhere; everything else runs on the keyspace's own thread.
  std::atomic<int64_t> settled_{0};
  mutable uint64_t ranges_scanned_ = 0;
  std::unordered_map<std::string, int64_t> key_lease_;  // only keys with a lease
  std::map<int64_t, std::set<std::string>> lease_keys_;
};

// Reads the record stored for `rev` (a put) from the backend.
Result<KeyValue> read_put_record(const Backend& backend, Revision rev);

}  // namespace revkv::storage
