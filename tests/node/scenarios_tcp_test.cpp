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

// A watch stream: a connection of its own; notifications are queued as they arrive.
class TcpWatchStream final : public WatchStreamHandle {
 public:
  explicit TcpWatchStream(const std::string& endpoint) {
    client::ClientOptions options;
    options.request_timeout = std::chrono::seconds(30);
    auto c = client::Client::connect(endpoint, options);
    if (!c.ok()) FAIL("connect " << endpoint << ": " << c.error().message);
    client_.emplace(std::move(c).value());
    client_->set_notification_handler([this](const client::Notification& n) {
      auto w = client::decode_watch_notification(n);
      if (!w.ok()) FAIL("undecodable Watch.Watch notification: " << w.error().message);
      inbox_.push_back(std::move(w).value());
    });
  }

  std::optional<protocol::WatchResponse> request(const protocol::WatchRequest& r) override {
    auto raw = client_->call(protocol::method_name(protocol::Method::watch),
                             protocol::encode_to_string(r));
    if (!raw.ok()) FAIL("Watch.Watch: " << raw.error().message);
    // {}: etcd would have answered nothing.
    if (raw.value().result.type == msgpack::type::MAP && raw.value().result.via.map.size == 0) {
      return std::nullopt;
    }
    auto decoded = protocol::decode_body<protocol::WatchResponse>(raw.value().result);
    if (!decoded.ok()) FAIL("Watch.Watch result: " << decoded.error().message);
    return std::move(decoded).value();
  }

  std::optional<protocol::WatchResponse> next(std::chrono::milliseconds timeout) override {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (inbox_.empty()) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      auto got = client_->pump_for(left);
      if (!got.ok()) FAIL("watch stream: " << got.error().message);
    }
    if (inbox_.empty()) return std::nullopt;
    auto out = std::move(inbox_.front());
    inbox_.pop_front();
    return out;
  }

 private:
  std::optional<client::Client> client_;
  std::deque<protocol::WatchResponse> inbox_;
};

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
