#pragma once

// One power-cut round: a fresh data directory, the node started in this process over a
// PowerCutFs, the concurrent load, the power cut at a random file operation, the node
// torn down, the cut applied to the real files, and the checks (tests/powerloss/verify.hpp).
// Everything random comes from the seed: a failing seed replays the same load and the same
// cut point (the threads' interleaving still varies).

#include "actors/node_context.hpp"
#include "tests/powerloss/load.hpp"
#include "tests/powerloss/power_cut_fs.hpp"
#include "tests/powerloss/verify.hpp"

#include <caf/fwd.hpp>

#include <cstdint>
#include <string>

namespace revkv::testing {

struct RoundOptions {
  uint64_t seed = 1;
  actors::SyncMode sync = actors::SyncMode::always;
  int64_t sync_interval_ms = 5;
  size_t shards = 3;
  LoadOptions load;
  // The cut falls on an operation drawn from [1, cut_window]; a round whose load ends
  // first is cut at its end.
  uint64_t cut_window = 700;
};

struct RoundReport {
  uint64_t seed = 0;
  uint64_t cut_at = 0;        // the planned operation number
  uint64_t operations = 0;    // mutating file operations before the cut
  bool node_started = false;  // false: the cut fell while the node was opening
  bool cut_during_load = false;
  DroppedState dropped;
  Verdict verdict;
  size_t compactions = 0, defragments = 0, snapshots = 0, alarm_changes = 0;  // answered

  std::string describe() const;
};

RoundReport run_power_cut_round(caf::actor_system& sys, const RoundOptions& options);

// Maps a fatal storage failure of the node to an exception for the round's lifetime, so
// that the node dies and the test lives (actors/fatal.hpp).
class FatalThrows {
 public:
  FatalThrows();
  ~FatalThrows();
  FatalThrows(const FatalThrows&) = delete;
  FatalThrows& operator=(const FatalThrows&) = delete;
};

}  // namespace revkv::testing
