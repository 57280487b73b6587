#pragma once

// A linearizability checker for per-key register histories (docs/CLUSTER.md
// "Linearizability checker"): Wing & Gong's search with Lowe's memoization of visited
// (linearized set, state) pairs, as Porcupine does, run per key (P-compositionality: a
// history of independent registers is linearizable iff each key's sub-history is), plus
// the revision rules an etcd-style store adds across keys.

#include "tests/linearizability/history.hpp"

#include <cstdint>
#include <string>

namespace revkv::testing::lin {

enum class Verdict {
  linearizable,
  violation,
  too_long,  // the search hit its bound: neither proven nor refuted
};

struct CheckLimits {
  // Search steps (an operation tried at a point of the order) per key.
  uint64_t max_steps_per_key = 5'000'000;
};

struct CheckResult {
  Verdict verdict = Verdict::linearizable;
  std::string key;          // the key of a violation or of a search too long
  std::string explanation;  // what is wrong, with the operations involved
  size_t operations = 0;    // operations that entered the check (failed ones do not)
  uint64_t steps = 0;       // search steps over all keys
};

// Decides the history. Failed operations and reads of unknown outcome have no effect and
// are dropped; writes of unknown outcome may be linearized anywhere after their invocation
// or not at all.
//
// Revision rules (checked on the whole history, not per key):
// - every acknowledged write has its own revision;
// - a read's mod_revision is at most its header revision;
// - an operation that starts after another completed has a header revision at least the
//   other's (greater, if it is a write): revisions follow real time;
// - per key, in the order found: writes' revisions increase, and a read or failed compare
//   with header revision H sees no write newer than H.
CheckResult check(const History& history, const CheckLimits& limits = {});

const char* to_string(Verdict verdict);

}  // namespace revkv::testing::lin
