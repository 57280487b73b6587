// The scenarios of the scenario catalogue (tests/scenarios/scenario_cases.cpp, the same
// transcription storage::Store and revkvd over MessagePack run) against revkvd's gRPC
// door: every KV, compaction, hash and lease step is an etcd gRPC call made with the
// generated stubs (tests/etcdapi/grpc_client.hpp), errors compared by gRPC code and exact
// message. The current revision is Maintenance.Status's header revision and the
// compaction revision HashKV's compact_revision, as an etcd client would read them.
// Not over gRPC (reported skipped by the scenarios): the event history and watch streams
// (Watch is not served on the gRPC door yet), and stopping the node between scheduling a
// compaction and running it.

#include "tests/etcdapi/grpc_client.hpp"
#include "tests/node/node_process.hpp"
#include "tests/scenarios/scenario_target.hpp"
#include "tests/scenarios/wire_lease_records.hpp"
#include "tests/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace revkv::testing {
namespace {

using namespace storage;

template <class T>
Outcome<T> from_grpc(GrpcResult<T> r) {
  if (auto* e = std::get_if<protocol::WireError>(&r))
    return ApiError{std::nullopt, e->code, e->message};
  return std::get<T>(std::move(r));
}

class GrpcTarget final : public WireLeaseRecords {
 public:
  explicit GrpcTarget(const ScenarioOptions& options)
      : flags_{"--shards",      "3",
               "--sync",        "never",
               "--max-txn-ops", std::to_string(options.max_txn_ops)} {
    start();
  }

  std::string name() const override { return "revkvd over gRPC"; }
  bool supports(Feature f) const override {
    return f == Feature::leases || f == Feature::lease_records;
  }

  Outcome<RangeResponse> range(const RangeRequest& r) override {
    return from_grpc(grpc_->range(r));
  }
  Outcome<PutResponse> put(const PutRequest& r) override { return from_grpc(grpc_->put(r)); }
  Outcome<DeleteRangeResponse> delete_range(const DeleteRangeRequest& r) override {
    return from_grpc(grpc_->delete_range(r));
  }
  Outcome<TxnResponse> txn(const TxnRequest& r) override { return from_grpc(grpc_->txn(r)); }

  Outcome<CompactResponse> compact(int64_t revision, bool physical) override {
    return from_grpc(grpc_->compact(revision, physical));
  }
  Outcome<HashKVResponse> hash_kv(int64_t revision) override {
    auto r = from_grpc(grpc_->hash_kv(revision));
    if (!r.ok()) return *r.error;
    const auto& h = *r.value;
    return HashKVResponse{h.header.revision, h.hash, h.compact_revision, h.hash_revision};
  }
  int64_t current_revision() override {
    auto s = from_grpc(grpc_->status());
    if (!s.ok()) FAIL("Maintenance.Status: " << s.error->message);
    return s.value->header.revision;
  }
  int64_t compact_revision() override {
    auto h = from_grpc(grpc_->hash_kv(0));
    if (!h.ok()) FAIL("Maintenance.HashKV: " << h.error->message);
    return h.value->compact_revision;
  }

  Outcome<LeaseGrantResponse> lease_grant(int64_t id, int64_t ttl) override {
    auto r = from_grpc(grpc_->lease_grant(id, ttl));
    if (!r.ok()) return *r.error;
    return LeaseGrantResponse{r.value->header.revision, r.value->id, r.value->ttl};
  }
  Outcome<LeaseRevokeResponse> lease_revoke(int64_t id) override {
    auto r = from_grpc(grpc_->lease_revoke(id));
    if (!r.ok()) return *r.error;
    return LeaseRevokeResponse{r.value->header.revision};
  }
  Outcome<std::vector<Event>> events(int64_t, int64_t) override {
    FAIL("no event history over gRPC yet: the scenario must check supports() first");
    return ApiError{};
  }
  Outcome<CompactResponse> crash_after_scheduling_compaction(int64_t) override {
    FAIL("not available over gRPC: the scenario must check supports() first");
    return ApiError{};
  }

  // Restart(): SIGTERM (a clean shutdown, exit status 0), then a new process on the same dir.
  void restart() override {
    stop();
    start();
  }
  void reset() override {
    stop();
    dir_ = std::make_unique<TempDir>();
    start();
  }

 private:
  void start() {
    node_ = std::make_unique<NodeProcess>(dir_->sub("data"), flags_);
    grpc_ = std::make_unique<GrpcClient>(node_->grpc_endpoint());
  }
  void stop() {
    grpc_.reset();
    CHECK(node_->stop() == 0);
    node_.reset();
  }
  protocol::LeaseLeasesResponse lease_leases() override {
    auto r = from_grpc(grpc_->lease_leases());
    if (!r.ok()) FAIL("Lease.LeaseLeases: " << r.error->message);
    return *r.value;
  }
  protocol::LeaseTimeToLiveResponse time_to_live(int64_t id, bool keys) override {
    auto r = from_grpc(grpc_->lease_time_to_live(id, keys));
    if (!r.ok()) FAIL("Lease.LeaseTimeToLive: " << r.error->message);
    return *r.value;
  }

  std::vector<std::string> flags_;
  std::unique_ptr<TempDir> dir_ = std::make_unique<TempDir>();
  std::unique_ptr<NodeProcess> node_;  // after dir_: stopped before the dir is removed
  std::unique_ptr<GrpcClient> grpc_;
};

}  // namespace

std::unique_ptr<ScenarioTarget> make_scenario_target(const ScenarioOptions& options) {
  return std::make_unique<GrpcTarget>(options);
}

}  // namespace revkv::testing
