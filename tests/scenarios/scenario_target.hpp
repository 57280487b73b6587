#pragma once

// What the scenarios of the scenario catalogue (S01–S74) run against: one interface, two
// implementations — storage::Store in-process (tests/storage/scenarios_test.cpp) and a
// revkvd process over TCP (tests/node/scenarios_tcp_test.cpp). The transcription itself
// (tests/scenarios/scenario_cases.cpp) is linked into both test binaries; each binary
// defines make_scenario_target().
//
// Every call answers with an Outcome: the response, or the error as etcd reports it
// ({gRPC code, exact message}, plus the library's Errc when the target knows it — the
// store does, the wire does not carry it).

#include "protocol/messages.hpp"
#include "storage/error.hpp"
#include "storage/types.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace revkv::testing {

// An API error: gRPC code and exact message; `code` only when the target knows it.
struct ApiError {
  std::optional<storage::Errc> code;
  int64_t grpc = 0;
  std::string message;

  // Code and message always; the library code only when both sides have one.
  friend bool operator==(const ApiError& a, const ApiError& b) {
    if (a.grpc != b.grpc || a.message != b.message) return false;
    return !a.code || !b.code || *a.code == *b.code;
  }
};

inline ApiError api_error(const storage::Error& e) {
  return ApiError{e.code(), static_cast<int64_t>(e.grpc()), e.message()};
}

// What a call returned: its value or its error, comparable with an expected value or error.
template <class T>
struct Outcome {
  Outcome(T v) : value(std::move(v)) {}         // NOLINT: implicit by design
  Outcome(ApiError e) : error(std::move(e)) {}  // NOLINT
  std::optional<T> value;
  std::optional<ApiError> error;
  bool ok() const { return value.has_value(); }
  friend bool operator==(const Outcome&, const Outcome&) = default;
};

template <class T>
Outcome<T> outcome(const storage::Result<T>& r) {
  if (r.ok()) return Outcome<T>(r.value());
  return Outcome<T>(api_error(r.error()));
}

// Steps a target may be unable to perform; the scenarios check before using them.
enum class Feature {
  leases,                  // LeaseGrant / LeaseRevoke
  lease_records,           // inspecting the stored leases and their keys
  history,                 // reading the event history (what a watch replays)
  crash_after_scheduling,  // stopping between scheduling a compaction and running it
  watch,                   // watch streams (open_watch_stream)
};

// One watch stream of a target (Feature::watch): a connection, or the harness's stream.
class WatchStreamHandle {
 public:
  virtual ~WatchStreamHandle() = default;
  // The RPC result of a create / cancel / progress request; nullopt where etcd answers
  // nothing.
  virtual std::optional<protocol::WatchResponse> request(const protocol::WatchRequest& r) = 0;
  // The stream's next notification within `timeout`; nullopt when none came.
  virtual std::optional<protocol::WatchResponse> next(std::chrono::milliseconds timeout) = 0;
};

struct ScenarioOptions {
  int64_t max_txn_ops = 128;
  // Periodic watch progress notifications; 0: the target's default.
  std::chrono::milliseconds watch_progress_interval{0};
};

class ScenarioTarget {
 public:
  virtual ~ScenarioTarget() = default;

  virtual std::string name() const = 0;
  virtual bool supports(Feature feature) const = 0;

  // -- KV
  virtual Outcome<storage::RangeResponse> range(const storage::RangeRequest& r) = 0;
  virtual Outcome<storage::PutResponse> put(const storage::PutRequest& r) = 0;
  virtual Outcome<storage::DeleteRangeResponse> delete_range(
      const storage::DeleteRangeRequest& r) = 0;
  virtual Outcome<storage::TxnResponse> txn(const storage::TxnRequest& r) = 0;

  // -- compaction and consistency
  // Compact(rev): with `physical`, returns after the deletions ran.
  virtual Outcome<storage::CompactResponse> compact(int64_t revision, bool physical = true) = 0;
  virtual Outcome<storage::HashKVResponse> hash_kv(int64_t revision) = 0;
  virtual int64_t current_revision() = 0;
  virtual int64_t compact_revision() = 0;

  // -- leases (Feature::leases)
  virtual Outcome<storage::LeaseGrantResponse> lease_grant(int64_t id, int64_t ttl) = 0;
  virtual Outcome<storage::LeaseRevokeResponse> lease_revoke(int64_t id) = 0;
  // (Feature::lease_records)
  virtual bool lease_exists(int64_t id) = 0;
  virtual std::vector<std::string> lease_keys(int64_t id) = 0;
  virtual std::vector<storage::LeaseRecord> leases() = 0;

  // -- history (Feature::history)
  virtual Outcome<std::vector<storage::Event>> events(int64_t from, int64_t to) = 0;

  // -- watch (Feature::watch)
  virtual std::unique_ptr<WatchStreamHandle> open_watch_stream() { return nullptr; }

  // -- lifecycle
  // Restart(): clean shutdown, then start again on the same data directory.
  virtual void restart() = 0;
  // CrashAfterSchedulingCompaction(rev) (Feature::crash_after_scheduling): the schedule is
  // persisted and the index compacted, but no deletion batch runs before the restart()
  // the scenario calls next.
  virtual Outcome<storage::CompactResponse> crash_after_scheduling_compaction(int64_t revision) = 0;
  // Throws the data away and starts again from an empty store.
  virtual void reset() = 0;
};

// Defined by each scenario test binary.
std::unique_ptr<ScenarioTarget> make_scenario_target(const ScenarioOptions& options);

}  // namespace revkv::testing
