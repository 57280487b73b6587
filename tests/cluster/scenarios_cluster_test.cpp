// The scenarios of the scenario catalogue (S01–S74) (tests/scenarios/scenario_cases.cpp)
// against a 3-member revkvd cluster, over the MessagePack door, every request to the next
// member in turn: writes and linearizable reads that reach a follower are forwarded to the
// leader, so the answers must be a single store's. What a member serves from its own applied
// state (serializable reads, HashKV, watches: docs/CLUSTER.md "Followers, reads and errors") is
// asked only once that member has applied every entry the leader has (Status' raft_index),
// as a client that reads its own writes from a follower would wait; nothing else waits. Not on a
// cluster: S55, as over TCP (a client cannot stop the node between scheduling a compaction and its
// first deletion batch).

#include "client/client.hpp"
#include "storage/txn_rules.hpp"
#include "tests/cluster/revkvd_cluster.hpp"
#include "tests/node/tcp_watch_stream.hpp"
#include "tests/scenarios/scenario_target.hpp"
#include "tests/scenarios/watch_history.hpp"
#include "tests/scenarios/wire_lease_records.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace revkv::testing {
namespace {

using namespace storage;

constexpr size_t kMembers = 3;

class ClusterTarget;

// A watch stream on one member; each request (create, cancel, progress) waits until that
// member has applied everything answered so far, so that "from now", a replay and a progress
// revision mean what they mean on a single store.
class MemberWatchStream final : public WatchStreamHandle {
 public:
  MemberWatchStream(ClusterTarget& target, size_t member, const std::string& endpoint)
      : target_(target), member_(member), stream_(endpoint) {}
  std::optional<protocol::WatchResponse> request(const protocol::WatchRequest& r) override;
  std::optional<protocol::WatchResponse> next(std::chrono::milliseconds timeout) override {
    return stream_.next(timeout);
  }

 private:
  ClusterTarget& target_;
  size_t member_;
  TcpWatchStream stream_;
};

class ClusterTarget final : public WireLeaseRecords {
 public:
  explicit ClusterTarget(const ScenarioOptions& options)
      : flags_{"--sync", "never", "--max-txn-ops", std::to_string(options.max_txn_ops)} {
    if (options.watch_progress_interval.count() > 0) {
      flags_.push_back("--watch-progress-notify-interval");
      flags_.push_back(std::to_string(options.watch_progress_interval.count()) + "ms");
    }
    start(std::make_unique<Cluster>(kMembers, flags_));
  }

  std::string name() const override { return "a 3-member revkvd cluster"; }
  bool supports(Feature f) const override {
    return f == Feature::watch || f == Feature::history || f == Feature::leases ||
           f == Feature::lease_records;
  }

  std::unique_ptr<WatchStreamHandle> open_watch_stream() override {
    const size_t m = pick();
    return std::make_unique<MemberWatchStream>(*this, m, cluster_->member(m).endpoint());
  }

  Outcome<RangeResponse> range(const RangeRequest& r) override {
    const size_t m = pick();
    if (r.serializable) wait_applied(m);
    return answer(client(m).range(r));
  }
  Outcome<PutResponse> put(const PutRequest& r) override { return answer(client(pick()).put(r)); }
  Outcome<DeleteRangeResponse> delete_range(const DeleteRangeRequest& r) override {
    return answer(client(pick()).delete_range(r));
  }
  Outcome<TxnResponse> txn(const TxnRequest& r) override {
    const size_t m = pick();
    // A Txn of serializable Ranges only is served by the member itself, as a serializable
    // Range is.
    if (storage::is_serializable_read_txn(r)) wait_applied(m);
    return answer(client(m).txn(r));
  }
  Outcome<CompactResponse> compact(int64_t revision, bool physical) override {
    return answer(client(pick()).compact(protocol::CompactionRequest{revision, physical}));
  }
  // On the leader: when no key is live at the revision, a hash depends on how far the
  // member's compactor has got (SPEC §9); a physical Compact waits for the leader's, a
  // follower's runs on its own. tests/cluster/random_cluster_vs_etcd_test.cpp asks
  // followers too, where some key is live.
  Outcome<HashKVResponse> hash_kv(int64_t revision) override {
    const size_t m = leader();
    auto r = client(m).hash_kv(protocol::HashKVRequest{revision});
    if (!r.ok()) return ApiError{std::nullopt, r.error().code, r.error().message};
    const auto& h = r.value();
    return HashKVResponse{h.header.revision, h.hash, h.compact_revision, h.hash_revision};
  }
  int64_t current_revision() override { return leader_status().header.revision; }
  int64_t compact_revision() override { return leader_status().compact_revision; }

  Outcome<LeaseGrantResponse> lease_grant(int64_t id, int64_t ttl) override {
    auto r = client(pick()).lease_grant(protocol::LeaseGrantRequest{ttl, id});
    if (!r.ok()) return ApiError{std::nullopt, r.error().code, r.error().message};
    return LeaseGrantResponse{r.value().header.revision, r.value().id, r.value().ttl};
  }
  Outcome<LeaseRevokeResponse> lease_revoke(int64_t id) override {
    auto r = client(pick()).lease_revoke(protocol::LeaseRevokeRequest{id});
    if (!r.ok()) return ApiError{std::nullopt, r.error().code, r.error().message};
    return LeaseRevokeResponse{r.value().header.revision};
  }
  Outcome<CompactResponse> crash_after_scheduling_compaction(int64_t) override {
    FAIL("not available on a cluster: the scenario must check supports() first");
    return ApiError{};
  }

  Outcome<std::vector<Event>> events(int64_t from, int64_t to) override {
    return replay_history(*open_watch_stream(), from, to);
  }
  // Every member stopped cleanly (exit status 0), then started again on its directory.
  void restart() override {
    clients_.clear();
    for (size_t i = 0; i < kMembers; ++i)
      CHECK(cluster_->stop(i, std::chrono::seconds(20)) == 0);
    for (size_t i = 0; i < kMembers; ++i)
      cluster_->start(i);
    ready();
  }
  void reset() override {
    clients_.clear();
    cluster_.reset();
    start(std::make_unique<Cluster>(kMembers, flags_));
  }

  // Waits (deadline 30 s) until member `m` has caught up with the leader (caught_up():
  // whatever was answered so far, compactions and lease changes too).
  void wait_applied(size_t m) {
    const auto leader = leader_status();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    for (;;) {
      auto s = client(m).status();
      REQUIRE(s.ok());
      if (caught_up(s.value(), leader)) return;
      REQUIRE(std::chrono::steady_clock::now() < deadline);
      poll_pause();
    }
  }

 protected:
  // Lease.LeaseTimeToLive and Lease.LeaseLeases go to the leader from any member.
  protocol::LeaseTimeToLiveResponse time_to_live(int64_t id, bool keys) override {
    auto r = client(pick()).lease_time_to_live(protocol::LeaseTimeToLiveRequest{id, keys});
    if (!r.ok()) FAIL("Lease.LeaseTimeToLive: " << r.error().message);
    return r.value();
  }
  protocol::LeaseLeasesResponse lease_leases() override {
    auto all = client(pick()).lease_leases();
    if (!all.ok()) FAIL("Lease.LeaseLeases: " << all.error().message);
    return all.value();
  }

 private:
  void start(std::unique_ptr<Cluster> cluster) {
    cluster_ = std::move(cluster);
    ready();
  }
  // Every member agrees on a leader and serves a linearizable read (a follower forwards it
  // once the leader has published its address). No write: the scenarios count revisions
  // from an empty store.
  void ready() {
    clients_.clear();
    client::ClientOptions options;
    options.request_timeout = std::chrono::seconds(30);  // a hung member fails, never hangs
    for (size_t i = 0; i < kMembers; ++i) {
      auto c = client::Client::connect(cluster_->member(i).endpoint(), options);
      if (!c.ok()) FAIL("connect " << cluster_->member(i).endpoint() << ": " << c.error().message);
      clients_.push_back(std::move(c).value());
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    for (size_t i = 0; i < kMembers; ++i) {
      RangeRequest probe;
      probe.key = "ready";
      while (!clients_[i].range(probe).ok()) {
        REQUIRE(std::chrono::steady_clock::now() < deadline);
        poll_pause();
      }
    }
  }
  size_t pick() { return next_++ % kMembers; }
  client::Client& client(size_t m) { return clients_.at(m); }

  template <class T>
  Outcome<T> answer(const client::Result<protocol::KvResponse<T>>& r) {
    if (!r.ok()) return ApiError{std::nullopt, r.error().code, r.error().message};
    return r.value().response;
  }
  protocol::StatusResponse leader_status() {
    auto s = client(leader()).status();
    REQUIRE(s.ok());
    return s.value();
  }
  size_t leader() {
    for (size_t i = 0; i < kMembers; ++i) {
      auto s = client(i).status();
      REQUIRE(s.ok());
      if (s.value().leader == s.value().header.member_id) return i;
    }
    FAIL("no member leads");
    return 0;
  }

  std::vector<std::string> flags_;
  std::unique_ptr<Cluster> cluster_;
  std::vector<client::Client> clients_;
  size_t next_ = 0;
};

std::optional<protocol::WatchResponse> MemberWatchStream::request(const protocol::WatchRequest& r) {
  target_.wait_applied(member_);
  return stream_.request(r);
}

}  // namespace

std::unique_ptr<ScenarioTarget> make_scenario_target(const ScenarioOptions& options) {
  return std::make_unique<ClusterTarget>(options);
}

}  // namespace revkv::testing
