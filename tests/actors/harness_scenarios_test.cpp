// The scenarios of the scenario catalogue (S01–S74) (tests/scenarios) through the actor-message
// harness: the node's actors in this process (3 shards), driven with the protocol structs
// as a session would, watch streams included. The same transcription runs against
// storage::Store (tests/storage) and revkvd over TCP (tests/node).
//
// Not here: S55 (stopping between scheduling a compaction and its first batch).

#include "tests/actors/actor_harness.hpp"
#include "tests/scenarios/scenario_target.hpp"
#include "tests/scenarios/watch_history.hpp"
#include "tests/scenarios/wire_lease_records.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <memory>

namespace revkv::testing {
namespace {

using namespace storage;

template <class T>
Outcome<T> outcome_of(const Result<T>& r) {
  if (!r.ok()) return api_error(r.error());
  return r.value();
}

class HarnessStream final : public WatchStreamHandle {
 public:
  explicit HarnessStream(std::unique_ptr<HarnessWatchStream> s) : s_(std::move(s)) {}
  std::optional<protocol::WatchResponse> request(const protocol::WatchRequest& r) override {
    return s_->request(r);
  }
  std::optional<protocol::WatchResponse> next(std::chrono::milliseconds timeout) override {
    return s_->next(timeout);
  }

 private:
  std::unique_ptr<HarnessWatchStream> s_;
};

class HarnessTarget final : public WireLeaseRecords {
 public:
  explicit HarnessTarget(const ScenarioOptions& options) {
    options_.max_txn_ops = options.max_txn_ops;
    if (options.watch_progress_interval.count() > 0) {
      options_.watch_progress_interval = options.watch_progress_interval;
    }
    harness_ = std::make_unique<ActorHarness>(options_);
  }

  std::string name() const override { return "the actor harness"; }
  bool supports(Feature f) const override {
    return f == Feature::watch || f == Feature::history || f == Feature::leases ||
           f == Feature::lease_records;
  }

  Outcome<RangeResponse> range(const RangeRequest& r) override {
    return outcome_of(harness_->call<RangeResponse>(r));
  }
  Outcome<PutResponse> put(const PutRequest& r) override {
    return outcome_of(harness_->call<PutResponse>(r));
  }
  Outcome<DeleteRangeResponse> delete_range(const DeleteRangeRequest& r) override {
    return outcome_of(harness_->call<DeleteRangeResponse>(r));
  }
  Outcome<TxnResponse> txn(const TxnRequest& r) override {
    return outcome_of(harness_->call<TxnResponse>(r));
  }
  Outcome<CompactResponse> compact(int64_t revision, bool physical) override {
    return outcome_of(
        harness_->call<CompactResponse>(protocol::CompactionRequest{revision, physical}));
  }
  Outcome<HashKVResponse> hash_kv(int64_t revision) override {
    auto r = harness_->call<protocol::HashKVResponse>(protocol::HashKVRequest{revision});
    if (!r.ok()) return api_error(r.error());
    const auto& h = r.value();
    return HashKVResponse{h.header.revision, h.hash, h.compact_revision, h.hash_revision};
  }
  int64_t current_revision() override { return harness_->node().context()->watermark.load(); }
  int64_t compact_revision() override {
    auto r = harness_->call<protocol::StatusResponse>(protocol::StatusRequest{});
    REQUIRE(r.ok());
    return r.value().compact_revision;
  }

  Outcome<LeaseGrantResponse> lease_grant(int64_t id, int64_t ttl) override {
    auto r = harness_->call<protocol::LeaseGrantResponse>(protocol::LeaseGrantRequest{ttl, id});
    if (!r.ok()) return api_error(r.error());
    return LeaseGrantResponse{r.value().header.revision, r.value().id, r.value().ttl};
  }
  Outcome<LeaseRevokeResponse> lease_revoke(int64_t id) override {
    auto r = harness_->call<protocol::LeaseRevokeResponse>(protocol::LeaseRevokeRequest{id});
    if (!r.ok()) return api_error(r.error());
    return LeaseRevokeResponse{r.value().header.revision};
  }

  std::unique_ptr<WatchStreamHandle> open_watch_stream() override {
    return std::make_unique<HarnessStream>(harness_->open_watch_stream());
  }

  Outcome<std::vector<Event>> events(int64_t from, int64_t to) override {
    return replay_history(*open_watch_stream(), from, to);
  }

  Outcome<CompactResponse> crash_after_scheduling_compaction(int64_t) override {
    return unsupported();
  }
  void restart() override { harness_->restart(); }
  void reset() override { harness_ = std::make_unique<ActorHarness>(options_); }

 private:
  protocol::LeaseLeasesResponse lease_leases() override {
    auto all = harness_->call<protocol::LeaseLeasesResponse>(protocol::LeaseLeasesRequest{});
    REQUIRE(all.ok());
    return all.value();
  }
  protocol::LeaseTimeToLiveResponse time_to_live(int64_t id, bool keys) override {
    auto r = harness_->call<protocol::LeaseTimeToLiveResponse>(
        protocol::LeaseTimeToLiveRequest{id, keys});
    REQUIRE(r.ok());
    return r.value();
  }
  ApiError unsupported() {
    FAIL("not available through the harness: the scenario must check supports() first");
    return {};
  }

  HarnessOptions options_;
  std::unique_ptr<ActorHarness> harness_;
};

}  // namespace

std::unique_ptr<ScenarioTarget> make_scenario_target(const ScenarioOptions& options) {
  return std::make_unique<HarnessTarget>(options);
}

}  // namespace revkv::testing
