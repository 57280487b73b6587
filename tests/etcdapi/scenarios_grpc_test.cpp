// The scenarios of the scenario catalogue (tests/scenarios/scenario_cases.cpp, the same
// transcription storage::Store and revkvd over MessagePack run) against revkvd's gRPC
// door: every KV, compaction, hash and lease step is an etcd gRPC call made with the
// generated stubs (tests/etcdapi/grpc_client.hpp), errors compared by gRPC code and exact
// message. The current revision is Maintenance.Status's header revision and the
// compaction revision HashKV's compact_revision, as an etcd client would read them.
// Watch streams are gRPC Watch streams (tests/node/watch_clients.hpp); the event history
// is what a watch from the first revision replays. Not over gRPC (reported skipped by the
// scenario): stopping the node between scheduling a compaction and running it.

#include "tests/etcdapi/grpc_client.hpp"
#include "tests/node/node_process_target.hpp"
#include "tests/node/watch_clients.hpp"
#include "tests/scenarios/scenario_target.hpp"

#include <catch2/catch.hpp>

#include <deque>
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

// A scenario's watch stream: one gRPC Watch stream. A create is always answered; a cancel
// or progress request may be left unanswered (an unknown watcher; watchers not in sync),
// and a stream carries no "no answer". So each such request is followed by a create of a
// sentinel watcher on a key nothing writes: the stream answers in request order, so once
// the sentinel's answer is in, the request's answer is in too if there is one. The
// sentinel (an explicit id, far from the ids the node picks) is then cancelled.
class GrpcScenarioWatchStream final : public WatchStreamHandle {
 public:
  explicit GrpcScenarioWatchStream(const std::string& endpoint) : stream_(endpoint) {
    stream_.set_handler([this](protocol::WatchResponse r) { inbox_.push_back(std::move(r)); });
  }

  std::optional<protocol::WatchResponse> request(const protocol::WatchRequest& r) override {
    if (std::holds_alternative<protocol::WatchCreateRequest>(r.request)) return answer(r);
    if (!stream_.send(r)) FAIL("watch stream: write failed");
    answer(sentinel_create());
    std::optional<protocol::WatchResponse> out;
    for (auto it = inbox_.begin(); it != inbox_.end(); ++it) {
      if (answers(r, *it)) {
        out = std::move(*it);
        inbox_.erase(it);
        break;
      }
    }
    answer(protocol::WatchRequest{protocol::WatchCancelRequest{kSentinelId}});
    return out;
  }

  std::optional<protocol::WatchResponse> next(std::chrono::milliseconds timeout) override {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (inbox_.empty()) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      auto got = stream_.pump_for(left);
      if (!got.ok()) FAIL("watch stream: " << got.error().message);
    }
    if (inbox_.empty()) return std::nullopt;
    auto out = std::move(inbox_.front());
    inbox_.pop_front();
    return out;
  }

 private:
  static constexpr int64_t kSentinelId = int64_t{1} << 40;

  static protocol::WatchRequest sentinel_create() {
    protocol::WatchCreateRequest c;
    c.key = "\xff\xff revkv scenario sentinel";
    c.watch_id = kSentinelId;
    return protocol::WatchRequest{c};
  }
  protocol::WatchResponse answer(const protocol::WatchRequest& r) {
    auto got = stream_.watch(r);
    if (!got.ok()) FAIL("watch stream: " << got.error().message);
    return std::move(got).value();
  }

  GrpcWatchStream stream_;
  std::deque<protocol::WatchResponse> inbox_;
};

class GrpcTarget final : public NodeProcessTarget {
 public:
  explicit GrpcTarget(const ScenarioOptions& options) : NodeProcessTarget(options) { start(); }

  std::string name() const override { return "revkvd over gRPC"; }
  bool supports(Feature f) const override {
    return f == Feature::leases || f == Feature::lease_records || f == Feature::watch ||
           f == Feature::history;
  }

  std::unique_ptr<WatchStreamHandle> open_watch_stream() override {
    return std::make_unique<GrpcScenarioWatchStream>(node().grpc_endpoint());
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
  Outcome<CompactResponse> crash_after_scheduling_compaction(int64_t) override {
    FAIL("not available over gRPC: the scenario must check supports() first");
    return ApiError{};
  }

 private:
  void connect(const NodeProcess& node) override {
    grpc_ = std::make_unique<GrpcClient>(node.grpc_endpoint());
  }
  void disconnect() override { grpc_.reset(); }
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

  std::unique_ptr<GrpcClient> grpc_;
};

}  // namespace

std::unique_ptr<ScenarioTarget> make_scenario_target(const ScenarioOptions& options) {
  return std::make_unique<GrpcTarget>(options);
}

}  // namespace revkv::testing
