#pragma once

// What the engine does with the durable history as a whole, independent of who owns the
// index: rebuild on open, physical compaction in bounded batches, HashKV, and reading the
// events of a revision range. Store uses these on its one keyspace; the node uses them on
// all of its shards' keyspaces.

#include "storage/backend.hpp"
#include "storage/error.hpp"
#include "storage/keyspace_set.hpp"
#include "storage/revision.hpp"
#include "storage/types.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace revkv::storage {

inline constexpr int64_t kMaxLeaseTtl = 9'000'000'000;

struct RecoveredState {
  int64_t current = 1;                           // never below any revision ever used
  int64_t compact = -1;                          // finished compaction
  std::optional<int64_t> unfinished_compaction;  // scheduled above `compact`: resume it
  std::map<int64_t, LeaseRecord> leases;         // TTL raised to the minimum
};

// SPEC §6: checks the format marker (writing it into a new store), reads the compaction
// markers, rebuilds every keyspace from one scan of kv (each record goes to its key's
// owner), rebuilds the latest column if needed (storage/latest.hpp) and loads the leases.
Result<RecoveredState> recover_history(Backend& backend, const KeyspaceSet& keyspaces,
                                       int64_t min_lease_ttl);

// Durably records that a compaction at `revision` was scheduled (before acknowledging it).
Status persist_compaction_schedule(Backend& backend, int64_t revision);
// The same record added to `batch` (a cluster member writes it with the applied Raft index).
void stage_compaction_schedule(WriteBatch& batch, int64_t revision);
// The revision of the last compaction scheduled (nullopt: none ever).
Result<std::optional<int64_t>> read_compaction_schedule(const Backend& backend);
// Cluster mode: the schedule record added to `batch` only if `revision` is beyond the one
// `backend` holds (a compaction entry at or below it changes nothing: the schedule never
// goes back). Whether it was added.
Result<bool> stage_compaction_schedule_if_newer(WriteBatch& batch, const Backend& backend,
                                                int64_t revision);

// The physical part of one compaction (SPEC §5.4): deletes the records <= revision that
// are not in `keep`, `batch_limit` scanned records per committed batch; the last batch
// also writes finishedCompactRev. Unless resumed, it accumulates the compaction hash.
class CompactionJob {
 public:
  CompactionJob(int64_t revision, int64_t previous, std::set<Revision> keep, bool resumed);

  // One batch. True when the compaction is finished and recorded.
  Result<bool> step(Backend& backend, int64_t batch_limit);

  int64_t revision() const { return revision_; }
  int64_t previous() const { return previous_; }
  bool resumed() const { return resumed_; }
  uint32_t hash() const { return hash_; }
  // Revision records erased so far.
  int64_t removed() const { return removed_; }

 private:
  int64_t revision_;
  int64_t previous_;
  std::set<Revision> keep_;
  bool resumed_;
  uint32_t hash_;
  std::string next_key_;  // where the next batch starts
  int64_t removed_ = 0;
};

// HashKV's value (SPEC §9) for revision `hash_rev` with compact revision `compact` and
// keep set `keep` (every key's newest put at or below hash_rev).
Result<uint32_t> compute_hash(const Backend& backend, int64_t hash_rev, int64_t compact,
                              const std::set<Revision>& keep);

// The events of revisions [from, to] in revision order, without prev_kv.
Result<std::vector<Event>> read_events(const Backend& backend, int64_t from, int64_t to);

// Events of revisions [from, last], in revision order: whole revisions, read until their
// keys and values reach `max_bytes` (so a window holds less than `max_bytes` plus its last
// revision; a revision bigger than the budget comes alone, whole). last <= to; last == to
// when the budget was not reached before `to`.
struct EventWindow {
  std::vector<Event> events;
  int64_t last = 0;
  size_t bytes = 0;  // keys and values of `events`
};
Result<EventWindow> read_event_window(const Backend& backend, int64_t from, int64_t to,
                                      size_t max_bytes);

}  // namespace revkv::storage
