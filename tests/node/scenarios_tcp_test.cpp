// The scenarios of the scenario catalogue (S01–S74) (tests/scenarios/scenario_cases.cpp) against a
// real revkvd (3 shards, --sync never) over TCP with client::Client. Errors are compared by
// gRPC code and exact message (the wire carries no library code).
//
// Watch streams are connections of their own; the event history (Feature::history) is what
// a watch from the first revision replays. Leases go over the wire too: grant and revoke as
// Lease.LeaseGrant / Lease.LeaseRevoke, the stored leases and their keys through
// Lease.LeaseLeases and Lease.LeaseTimeToLive(keys). Not over TCP: S55 (a client cannot stop
// the node between scheduling a compaction and its first deletion batch).

#include "client/client.hpp"
#include "protocol/codec.hpp"
#include "protocol/method.hpp"
#include "tests/node/node_process_target.hpp"
#include "tests/node/tcp_watch_stream.hpp"
#include "tests/scenarios/scenario_target.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace revkv::testing {
namespace {

using namespace storage;

template <class T>
Outcome<T> from_wire(const client::Result<protocol::KvResponse<T>>& r) {
  if (!r.ok()) return ApiError{std::nullopt, r.error().code, r.error().message};
  return r.value().response;
}

class TcpTarget final : public NodeProcessTarget {
 public:
  explicit TcpTarget(const ScenarioOptions& options) : NodeProcessTarget(options) { start(); }

  std::string name() const override { return "revkvd over TCP"; }
  bool supports(Feature f) const override {
    return f == Feature::watch || f == Feature::history || f == Feature::leases ||
           f == Feature::lease_records;
  }

  std::unique_ptr<WatchStreamHandle> open_watch_stream() override {
    return std::make_unique<TcpWatchStream>(node().endpoint());
  }

  Outcome<RangeResponse> range(const RangeRequest& r) override {
    return from_wire(client_->range(r));
  }
  Outcome<PutResponse> put(const PutRequest& r) override { return from_wire(client_->put(r)); }
  Outcome<DeleteRangeResponse> delete_range(const DeleteRangeRequest& r) override {
    return from_wire(client_->delete_range(r));
  }
  Outcome<TxnResponse> txn(const TxnRequest& r) override { return from_wire(client_->txn(r)); }

  Outcome<CompactResponse> compact(int64_t revision, bool physical) override {
    return from_wire(client_->compact(protocol::CompactionRequest{revision, physical}));
  }
  Outcome<HashKVResponse> hash_kv(int64_t revision) override {
    auto r = client_->hash_kv(protocol::HashKVRequest{revision});
    if (!r.ok()) return ApiError{std::nullopt, r.error().code, r.error().message};
    const auto& h = r.value();
    return HashKVResponse{h.header.revision, h.hash, h.compact_revision, h.hash_revision};
  }
  int64_t current_revision() override { return status().header.revision; }
  int64_t compact_revision() override { return status().compact_revision; }

  Outcome<LeaseGrantResponse> lease_grant(int64_t id, int64_t ttl) override {
    auto r = client_->lease_grant(protocol::LeaseGrantRequest{ttl, id});
    if (!r.ok()) return ApiError{std::nullopt, r.error().code, r.error().message};
    return LeaseGrantResponse{r.value().header.revision, r.value().id, r.value().ttl};
  }
  Outcome<LeaseRevokeResponse> lease_revoke(int64_t id) override {
    auto r = client_->lease_revoke(protocol::LeaseRevokeRequest{id});
    if (!r.ok()) return ApiError{std::nullopt, r.error().code, r.error().message};
    return LeaseRevokeResponse{r.value().header.revision};
  }
  Outcome<CompactResponse> crash_after_scheduling_compaction(int64_t) override {
    return unsupported();
  }

 private:
  void connect(const NodeProcess& node) override {
    client::ClientOptions options;
    options.request_timeout = std::chrono::seconds(30);  // a hung node fails, never hangs
    auto c = client::Client::connect(node.endpoint(), options);
    if (!c.ok()) FAIL("connect " << node.endpoint() << ": " << c.error().message);
    client_.emplace(std::move(c).value());
  }
  void disconnect() override { client_.reset(); }
  protocol::StatusResponse status() {
    auto s = client_->status();
    if (!s.ok()) FAIL("Maintenance.Status: " << s.error().message);
    return s.value();
  }
  protocol::LeaseLeasesResponse lease_leases() override {
    auto all = client_->lease_leases();
    if (!all.ok()) FAIL("Lease.LeaseLeases: " << all.error().message);
    return all.value();
  }
  protocol::LeaseTimeToLiveResponse time_to_live(int64_t id, bool keys) override {
    auto r = client_->lease_time_to_live(protocol::LeaseTimeToLiveRequest{id, keys});
    if (!r.ok()) FAIL("Lease.LeaseTimeToLive: " << r.error().message);
    return r.value();
  }
  ApiError unsupported() {
    FAIL("not available over TCP: the scenario must check supports() first");
    return {};
  }

  std::optional<client::Client> client_;
};

}  // namespace

std::unique_ptr<ScenarioTarget> make_scenario_target(const ScenarioOptions& options) {
  return std::make_unique<TcpTarget>(options);
}

}  // namespace revkv::testing
