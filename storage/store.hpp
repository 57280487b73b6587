#pragma once

// storage::Store — the whole engine in one object: a RocksDB backend, one key index, the
// revision counter, compaction and leases, answering etcd's KV requests exactly as etcd's
// mvcc layer does. Single-threaded: the caller serialises calls. It is the reference model
// that the sharded node must match byte for byte.

#include "storage/backend.hpp"
#include "storage/engine.hpp"
#include "storage/error.hpp"
#include "storage/history.hpp"
#include "storage/keyspace.hpp"
#include "storage/keyspace_set.hpp"
#include "storage/types.hpp"
#include "storage/write_txn.hpp"

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace revkv::storage {

struct StoreOptions {
  BackendOptions backend;
  int64_t max_txn_ops = 128;
  int64_t min_lease_ttl = 2;              // seconds; smaller TTLs are raised to it (etcd)
  int64_t compaction_batch_limit = 1000;  // records deleted per committed batch
};

struct StoreSize {
  uint64_t total_bytes = 0;
  uint64_t in_use_bytes = 0;
};

class Store {
 public:
  // Opens (creating if allowed) the store in `dir`, rebuilds the index from `kv`, restores
  // leases and finishes an interrupted compaction.
  static Result<std::unique_ptr<Store>> open(const std::string& dir, StoreOptions options = {});
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // -- KV ----------------------------------------------------------------------------------
  Result<RangeResponse> range(const RangeRequest& request);
  Result<PutResponse> put(const PutRequest& request);
  Result<DeleteRangeResponse> delete_range(const DeleteRangeRequest& request);
  Result<TxnResponse> txn(const TxnRequest& request);

  // -- compaction ---------------------------------------------------------------------------
  // Compact(rev): validates, sets the compact revision, persists the schedule marker; with
  // `physical` runs every deletion batch before returning, otherwise leaves them to
  // compaction_step().
  Result<CompactResponse> compact(int64_t revision, bool physical = true);
  // Runs one bounded deletion batch of the pending compaction. Returns true when no
  // compaction work is left.
  Result<bool> compaction_step();
  bool compaction_pending() const { return pending_compaction_.has_value(); }

  // -- consistency and history ---------------------------------------------------------------
  Result<HashKVResponse> hash_kv(int64_t revision);
  // Events of revisions [from, to] (to <= current), in revision order; from must be >=
  // the compact revision. With prev_kv each event carries the key's previous value if
  // it is still kept.
  Result<std::vector<Event>> events(int64_t from, int64_t to, bool prev_kv = false);

  // -- leases (records and attachment; timing belongs to the lessor) --------------------------
  Result<LeaseGrantResponse> lease_grant(int64_t id, int64_t ttl);
  Result<LeaseRevokeResponse> lease_revoke(int64_t id);
  bool lease_exists(int64_t id) const { return leases_.contains(id); }
  std::vector<std::string> lease_keys(int64_t id) const;
  std::vector<LeaseRecord> leases() const;

  // -- maintenance ----------------------------------------------------------------------------
  int64_t current_revision() const { return current_; }
  int64_t compact_revision() const { return compact_; }
  Result<StoreSize> size() const;
  Status defragment();
  // Writes a consistent copy of the database into `dir` (which must not exist).
  Status snapshot(const std::string& dir);
  // Makes `data_dir` (which must not exist) a store holding the snapshot in `snapshot_dir`.
  static Status restore(const std::string& snapshot_dir, const std::string& data_dir);
  // Flushes and closes RocksDB; every later call fails.
  Status close();

  // Keys and revisions held by the index (for metrics and tests).
  size_t index_keys() const { return keyspace_->index().key_count(); }
  size_t index_revisions() const { return keyspace_->index().revision_count(); }

 private:
  struct CompactionHash {
    int64_t revision = 0;
    int64_t previous = -1;
    uint32_t hash = 0;
  };

  Store(std::unique_ptr<Backend> backend, StoreOptions options);
  Status recover();
  Status check_usable() const;
  Status schedule_compaction(int64_t revision, bool resumed);
  WriteTxn begin_txn();
  Status commit(WriteTxn& txn);
  RequestContext context() const;

  StoreOptions options_;
  std::unique_ptr<Backend> backend_;
  std::unique_ptr<Keyspace> keyspace_;
  KeyspaceSet keyspaces_;  // the one keyspace, in the form the request engine takes
  int64_t current_ = 1;
  int64_t compact_ = -1;
  std::optional<CompactionJob> pending_compaction_;
  std::deque<CompactionHash> compaction_hashes_;  // the last 10
  std::map<int64_t, LeaseRecord> leases_;
  int64_t next_lease_id_ = 1;
  bool failed_ = false;
  bool closed_ = false;
};

}  // namespace revkv::storage
