#pragma once

// The client side's record of one power-cut round: every write request the load sent,
// whether and how it was answered, and the leases and alarm changes around them. The
// checks after the reopen (tests/powerloss/verify.hpp) compare the reopened database with it.

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace revkv::testing {

// A request that may create a revision.
struct WriteOp {
  enum class Kind { put, txn, del, revoke };
  enum class Outcome {
    in_flight,  // sent; no answer before the cut: it may or may not have landed
    acked,      // answered with success (and, for put/txn/del/revoke, a revision)
    refused,    // answered with an error: it did not land
  };
  Kind kind = Kind::put;
  size_t client = 0;
  std::vector<std::pair<std::string, std::string>> puts;  // put / txn: key, value
  std::vector<std::string> deletes;                       // del: the key; revoke: the lease's keys
  int64_t lease = 0;                                      // put: attached lease; revoke: the lease
  Outcome outcome = Outcome::in_flight;
  int64_t revision = 0;  // acked: the revision it created (0: it created none)
  // The power-cut file system's operation count when the answer came: the write's WAL
  // append happened before it (PowerCutFs::operations).
  uint64_t acked_at_operation = 0;

  std::string describe() const;
};

// The effect of a write as the history of the store shows it: sorted (type, key, value).
using Effects = std::set<std::tuple<int, std::string, std::string>>;
Effects expected_effects(const WriteOp& op);

class History {
 public:
  // Records a request about to be sent; returns its index.
  size_t sent(WriteOp op);
  void acked(size_t index, int64_t revision, uint64_t at_operation);
  void refused(size_t index);

  void lease_granted(int64_t id);  // acked grants (a sent one is in `leases_sent`)
  void lease_sent(int64_t id);
  // The NOSPACE alarm: the state an acked change left, and states a change in flight might.
  void alarm_sent(bool raised);
  void alarm_acked(bool raised);

  // The largest c such that every revision 1..c was created by an acked write whose
  // revision is known: compacting at or below it never hides a write in flight.
  int64_t known_prefix() const;

  // A consistent copy, for the checks (after the load has stopped).
  struct Snapshot {
    std::vector<WriteOp> ops;
    std::set<int64_t> leases_granted;
    std::set<int64_t> leases_sent;
    std::set<bool> alarm_states;  // what the reopened alarm may be
  };
  Snapshot snapshot() const;

 private:
  mutable std::mutex mutex_;
  std::vector<WriteOp> ops_;
  std::set<int64_t> known_revisions_;
  std::set<int64_t> leases_granted_;
  std::set<int64_t> leases_sent_;
  bool alarm_ = false;
  std::optional<bool> alarm_in_flight_;
};

}  // namespace revkv::testing
