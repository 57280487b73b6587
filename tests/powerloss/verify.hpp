#pragma once

// The checks after a power cut, on the database as the cut left it (the node reopened on
// the real directory, then the engine opened on it):
// - the node starts;
// - no gaps: every revision above the compact revision up to the current one holds a
//   record;
// - nothing half-applied: the records of each revision are exactly the effects of one
//   request — an acked one that got that revision, or one that was in flight at the cut
//   (a multi-shard txn has all its keys there or none; a lease revoke deletes all its
//   keys or none, and its lease is gone exactly when it landed);
// - durability: every acked write is there when each acknowledgement waited for an fsync
//   (--sync always); otherwise every acked write that a WAL sync covered before the cut is
//   (tests/powerloss/power_cut_fs.hpp, wal_durable_horizon);
// - HashKV at the reopened revision equals HashKV of a replay, on a fresh engine, of the
//   requests in revision order (the acked ones and the in-flight ones that landed), with
//   the same compaction;
// - the NOSPACE alarm is as the last acked change left it, or as one in flight would.

#include "tests/powerloss/history.hpp"

#include <caf/fwd.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace revkv::testing {

struct VerifyInput {
  std::string data_dir;
  std::string scratch_dir;  // for the replay (must not exist)
  size_t shards = 3;
  History::Snapshot history;
  bool every_ack_durable = true;          // --sync always
  uint64_t durable_horizon = UINT64_MAX;  // PowerCutFs::wal_durable_horizon at the cut
};

struct Verdict {
  std::vector<std::string> failures;  // empty: every check held
  int64_t revision = 0;               // the reopened node's
  int64_t compact_revision = 0;
  size_t acked_writes = 0;
  size_t in_flight_landed = 0;  // requests without an answer that the reopened store has
  size_t in_flight_lost = 0;    // ... and that it does not have
  size_t acked_lost = 0;        // acked writes missing (allowed only without --sync always,
                                // past the durable horizon)
};

Verdict verify_after_cut(caf::actor_system& sys, const VerifyInput& input);

}  // namespace revkv::testing
