// The scenarios of the scenario catalogue (S01–S74) (tests/scenarios/scenario_cases.cpp) against
// storage::Store, in-process: every step, leases, history and an interrupted compaction
// included.

#include "storage/store.hpp"
#include "tests/scenarios/scenario_target.hpp"
#include "tests/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <vector>

namespace revkv::testing {
namespace {

using namespace storage;

class StoreTarget final : public ScenarioTarget {
 public:
  explicit StoreTarget(const ScenarioOptions& scenario) {
    options_.max_txn_ops = scenario.max_txn_ops;
    open();
  }

  std::string name() const override { return "storage::Store"; }
  bool supports(Feature f) const override { return f != Feature::watch; }  // no watch layer

  Outcome<RangeResponse> range(const RangeRequest& r) override { return outcome(store_->range(r)); }
  Outcome<PutResponse> put(const PutRequest& r) override { return outcome(store_->put(r)); }
  Outcome<DeleteRangeResponse> delete_range(const DeleteRangeRequest& r) override {
    return outcome(store_->delete_range(r));
  }
  Outcome<TxnResponse> txn(const TxnRequest& r) override { return outcome(store_->txn(r)); }

  Outcome<CompactResponse> compact(int64_t revision, bool physical) override {
    return outcome(store_->compact(revision, physical));
  }
  Outcome<HashKVResponse> hash_kv(int64_t revision) override {
    return outcome(store_->hash_kv(revision));
  }
  int64_t current_revision() override { return store_->current_revision(); }
  int64_t compact_revision() override { return store_->compact_revision(); }

  Outcome<LeaseGrantResponse> lease_grant(int64_t id, int64_t ttl) override {
    return outcome(store_->lease_grant(id, ttl));
  }
  Outcome<LeaseRevokeResponse> lease_revoke(int64_t id) override {
    return outcome(store_->lease_revoke(id));
  }
  bool lease_exists(int64_t id) override { return store_->lease_exists(id); }
  std::vector<std::string> lease_keys(int64_t id) override { return store_->lease_keys(id); }
  std::vector<LeaseRecord> leases() override { return store_->leases(); }

  Outcome<std::vector<Event>> events(int64_t from, int64_t to) override {
    return outcome(store_->events(from, to));
  }

  void restart() override {
    REQUIRE(store_->close().ok());
    store_.reset();
    open();
  }
  // The schedule marker is persisted and the index compacted; the deletion batches are left
  // to compaction_step(), which never runs before the restart() that follows.
  Outcome<CompactResponse> crash_after_scheduling_compaction(int64_t revision) override {
    return outcome(store_->compact(revision, /*physical=*/false));
  }
  void reset() override {
    REQUIRE(store_->close().ok());
    store_.reset();
    dir_ = std::make_unique<TempDir>();
    open();
  }

 private:
  void open() {
    auto opened = Store::open(dir_->str(), options_);
    if (!opened.ok()) FAIL("Store::open: " << opened.error().message());
    store_ = std::move(*opened);
  }

  StoreOptions options_;
  std::unique_ptr<TempDir> dir_ = std::make_unique<TempDir>();
  std::unique_ptr<Store> store_;  // declared after dir_: closed before the dir is removed
};

}  // namespace

std::unique_ptr<ScenarioTarget> make_scenario_target(const ScenarioOptions& options) {
  return std::make_unique<StoreTarget>(options);
}

}  // namespace revkv::testing
