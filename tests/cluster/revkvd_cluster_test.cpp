// Three revkvd processes as one Raft cluster (docs/CLUSTER.md): writes made on the leader
// reach every member at the same revisions, followers refuse writes, and killing the leader
// under a write load loses nothing acknowledged; a restarted member catches up from the log.
// REVKV_CLUSTER_LONG=1 repeats the leader kill 50 times (not run by CTest by default).

#include "tests/cluster/revkvd_cluster.hpp"

#include "client/client.hpp"
#include "cluster/members.hpp"
#include "tests/etcdapi/etcdctl_run.hpp"
#include "tests/monitoring/http_client.hpp"
#include "tests/node/node_process.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

using namespace revkv;
using Clock = std::chrono::steady_clock;
using testing::Cluster;
using testing::poll_pause;

namespace {

storage::RangeRequest everything_at(int64_t revision) {
  storage::RangeRequest r;
  r.key = std::string(1, '\0');
  r.range_end = std::string(1, '\0');
  r.revision = revision;
  r.serializable = true;
  return r;
}

// Whether member i's metrics say `etcd_server_has_leader value` (and /health agrees).
bool reports_leader(Cluster& cluster, size_t i, bool has_leader) {
  auto metrics = testing::http_get(cluster.member(i).metrics_port(), "/metrics");
  auto health = testing::http_get(cluster.member(i).metrics_port(), "/health");
  std::string line = std::string("\netcd_server_has_leader ") + (has_leader ? "1" : "0") + "\n";
  return metrics.status == 200 && metrics.body.find(line) != std::string::npos &&
         health.status == (has_leader ? 200 : 503);
}

// Every running member holds the same keys and HashKV at `revision`.
void require_same_state(Cluster& cluster, int64_t revision) {
  std::optional<std::vector<storage::KeyValue>> first_kvs;
  std::optional<uint32_t> first_hash;
  for (size_t i = 0; i < cluster.size(); ++i) {
    if (!cluster.running(i)) continue;
    CAPTURE(i, revision);
    REQUIRE(cluster.wait_revision(i, revision, std::chrono::seconds(20)));
    auto c = cluster.connect(i);
    auto kvs = c.range(everything_at(revision));
    REQUIRE(kvs.ok());
    protocol::HashKVRequest h;
    h.revision = revision;
    auto hash = c.hash_kv(h);
    REQUIRE(hash.ok());
    if (!first_kvs) {
      first_kvs = kvs.value().response.kvs;
      first_hash = hash.value().hash;
      continue;
    }
    CHECK(kvs.value().response.kvs == *first_kvs);
    CHECK(hash.value().hash == *first_hash);
  }
}

}  // namespace

TEST_CASE("revkvd cluster: writes on the leader reach every member at the same revisions",
          "[cluster][process]") {
  Cluster cluster(3);
  const size_t leader = cluster.require_leader();
  auto c = cluster.connect(leader);
  int64_t last = 0;
  for (int n = 0; n < 200; ++n) {
    storage::PutRequest p;
    p.key = "k" + std::to_string(n % 37);
    p.value = "v" + std::to_string(n);
    auto put = c.put(p);
    REQUIRE(put.ok());
    CHECK(put.value().response.revision > last);
    last = put.value().response.revision;
  }
  storage::DeleteRangeRequest d;
  d.key = "k1";
  d.range_end = "k2";  // k1, k10..k19
  auto del = c.delete_range(d);
  REQUIRE(del.ok());
  CHECK(del.value().response.deleted == 11);
  last = del.value().response.revision;

  require_same_state(cluster, last);
  // Every member answers history as well: a read in the past agrees too.
  require_same_state(cluster, last - 50);

  // A linearizable read on the leader (confirmed by a barrier) sees the last write.
  storage::RangeRequest k0;
  k0.key = "k0";
  auto read = c.range(k0);
  REQUIRE(read.ok());
  CHECK(read.value().response.revision >= last);
  REQUIRE(read.value().response.kvs.size() == 1);
  CHECK(read.value().response.kvs[0].value == "v185");  // the last n with n % 37 == 0

  // Status: every member names the same leader (the one that took the writes) and term.
  auto leader_status = c.status();
  REQUIRE(leader_status.ok());
  uint64_t leader_id = leader_status.value().header.member_id;
  CHECK(leader_status.value().leader == leader_id);
  CHECK(leader_status.value().raft_term > 0);
  CHECK(leader_status.value().raft_index > 0);
  for (size_t i = 0; i < cluster.size(); ++i) {
    auto s = cluster.connect(i).status();
    REQUIRE(s.ok());
    CHECK(s.value().leader == leader_id);
    CHECK(s.value().raft_term == leader_status.value().raft_term);
  }

  // A follower forwards writes and linearizable reads to the leader
  // (forward_cluster_test.cpp tests that in depth).
  for (size_t i = 0; i < cluster.size(); ++i) {
    if (i == leader) continue;
    auto f = cluster.connect(i);
    storage::PutRequest p;
    p.key = "on-a-follower";
    p.value = "x";
    auto forwarded = f.put(p);
    REQUIRE(forwarded.ok());
    CHECK(forwarded.value().response.revision > last);
    last = forwarded.value().response.revision;
    storage::RangeRequest linearizable;
    linearizable.key = "on-a-follower";
    auto read = f.range(linearizable);
    REQUIRE(read.ok());
    CHECK(read.value().response.revision >= last);
    REQUIRE(read.value().response.kvs.size() == 1);
  }
}

TEST_CASE("revkvd cluster: killing the leader under writes loses nothing acknowledged",
          "[cluster][process]") {
  const char* long_mode = std::getenv("REVKV_CLUSTER_LONG");
  const int rounds = long_mode != nullptr && std::string(long_mode) == "1" ? 50 : 1;
  Cluster cluster(3);
  REQUIRE(cluster.find_leader(std::chrono::seconds(20)));

  for (int round = 0; round < rounds; ++round) {
    CAPTURE(round);
    auto leader = cluster.find_leader(std::chrono::seconds(20));
    REQUIRE(leader);
    std::mutex mu;
    std::condition_variable progress;
    std::map<std::string, int64_t> acked;  // key -> highest acknowledged counter
    int64_t acked_revision = 0;
    int64_t acks = 0;
    std::atomic<bool> stop{false};
    // Each writer writes its own keys through whichever member takes writes now.
    auto writer = [&](int id) {
      size_t at = *leader;
      std::optional<client::Client> c;
      for (int64_t n = 1; !stop.load(); ++n) {
        if (!c) {
          at = (at + 1) % cluster.size();
          std::lock_guard lock(mu);
          if (!cluster.running(at)) continue;
          auto made = client::Client::connect(cluster.member(at).endpoint());
          if (!made.ok()) continue;
          c.emplace(std::move(made.value()));
        }
        std::string key =
            "r" + std::to_string(round) + "/w" + std::to_string(id) + "/" + std::to_string(n % 7);
        storage::PutRequest p;
        p.key = key;
        p.value = std::to_string(n);
        auto r = c->put(p);
        if (!r.ok()) {  // not the leader, or it died under us: not acknowledged
          c.reset();
          continue;
        }
        std::lock_guard lock(mu);
        acked[key] = std::max(acked[key], n);
        acked_revision = std::max(acked_revision, r.value().response.revision);
        ++acks;
        progress.notify_all();
      }
    };
    std::vector<std::thread> writers;
    for (int i = 0; i < 3; ++i)
      writers.emplace_back(writer, i);
    bool loaded = false;
    {
      std::unique_lock lock(mu);
      loaded = progress.wait_for(lock, std::chrono::seconds(30), [&] { return acks >= 100; });
    }
    int64_t before_kill = 0;
    {
      std::lock_guard lock(mu);
      cluster.kill9(*leader);
      before_kill = acks;
    }
    // Writes resume on a new leader.
    bool resumed = false;
    {
      std::unique_lock lock(mu);
      resumed = progress.wait_for(lock, std::chrono::seconds(30),
                                  [&] { return acks >= before_kill + 100; });
    }
    stop = true;
    for (auto& t : writers)
      t.join();
    REQUIRE(loaded);
    REQUIRE(resumed);

    // The killed member comes back and catches up from the log.
    cluster.start(*leader);
    require_same_state(cluster, acked_revision);
    auto c = cluster.connect(*leader);
    for (const auto& [key, n] : acked) {
      CAPTURE(key);
      storage::RangeRequest r;
      r.key = key;
      r.serializable = true;
      auto got = c.range(r);
      REQUIRE(got.ok());
      REQUIRE(got.value().response.kvs.size() == 1);
      CHECK(std::stoll(got.value().response.kvs[0].value) >= n);
    }
  }
}

TEST_CASE("revkvd cluster: a member cut off from the majority reports no leader and refuses",
          "[cluster][process]") {
  Cluster cluster(3);
  auto leader = cluster.find_leader(std::chrono::seconds(20));
  REQUIRE(leader);
  for (size_t i = 0; i < cluster.size(); ++i) {
    CAPTURE(i);
    auto deadline = Clock::now() + std::chrono::seconds(10);
    while (!reports_leader(cluster, i, true) && Clock::now() < deadline)
      poll_pause();
    CHECK(reports_leader(cluster, i, true));
  }
  // The survivor: a follower of the old leader, then alone with no majority. It has applied
  // the leader's probe write before it is cut off (a follower learns that an entry committed
  // with the leader's next message).
  size_t survivor = (*leader + 1) % cluster.size();
  {
    auto f = cluster.connect(survivor);
    storage::RangeRequest probe;
    probe.key = "leader-probe";
    probe.serializable = true;
    auto deadline = Clock::now() + std::chrono::seconds(10);
    auto applied = [&] {
      auto got = f.range(probe);
      return got.ok() && got.value().response.kvs.size() == 1;
    };
    while (!applied() && Clock::now() < deadline)
      poll_pause();
    REQUIRE(applied());
  }
  for (size_t i = 0; i < cluster.size(); ++i) {
    if (i != survivor) cluster.kill9(i);
  }
  auto deadline = Clock::now() + std::chrono::seconds(20);
  while (!reports_leader(cluster, survivor, false) && Clock::now() < deadline)
    poll_pause();
  REQUIRE(reports_leader(cluster, survivor, false));
  // Writes and linearizable reads stop with an answer, not a hang; serializable reads go on.
  auto c = cluster.connect(survivor);
  storage::PutRequest p;
  p.key = "alone";
  p.value = "x";
  auto put = c.put(p);
  REQUIRE_FALSE(put.ok());
  CHECK(put.error().code == 14);
  CHECK(put.error().message == "etcdserver: no leader");
  storage::RangeRequest r;
  r.key = "leader-probe";
  CHECK_FALSE(c.range(r).ok());
  r.serializable = true;
  auto local = c.range(r);
  REQUIRE(local.ok());
  CHECK(local.value().response.kvs.size() == 1);
  // Status says so as etcd's does: leader 0, and "etcdserver: no leader" among its errors.
  auto status = c.status();
  REQUIRE(status.ok());
  CHECK(status.value().leader == 0);
  CHECK(status.value().errors == std::vector<std::string>{"etcdserver: no leader"});
}

// The value of `series` (a line's start up to its value, "\nname{labels} ") on member i's
// /metrics (-1: no such line).
double metric_value(Cluster& cluster, size_t i, const std::string& series) {
  auto metrics = testing::http_get(cluster.member(i).metrics_port(), "/metrics");
  auto at = metrics.body.find(series);
  if (metrics.status != 200 || at == std::string::npos) return -1;
  return std::stod(metrics.body.substr(at + series.size()));
}

// Member i's count of round trips measured to member `to` (-1: no series for it).
double round_trips(Cluster& cluster, size_t i, size_t to) {
  char id[17];
  std::snprintf(id, sizeof id, "%llx",
                static_cast<unsigned long long>(cluster::member_id(cluster.name(to))));
  return metric_value(
      cluster, i,
      "\netcd_network_peer_round_trip_time_seconds_count{To=\"" + std::string(id) + "\"} ");
}

TEST_CASE("revkvd cluster: every member measures its round trips to every peer",
          "[cluster][process][metrics]") {
  Cluster cluster(3);
  // etcd's histogram by peer id: a sample for each peer on each member, none for itself.
  for (size_t i = 0; i < cluster.size(); ++i) {
    for (size_t to = 0; to < cluster.size(); ++to) {
      CAPTURE(i, to);
      if (to == i) {
        CHECK(round_trips(cluster, i, to) == -1);
        continue;
      }
      CHECK(testing::eventually([&] { return round_trips(cluster, i, to) >= 1; }));
    }
  }
  auto metrics = testing::http_get(cluster.member(0).metrics_port(), "/metrics");
  CHECK(metrics.body.find("# TYPE etcd_network_peer_round_trip_time_seconds histogram") !=
        std::string::npos);
  CHECK(metrics.body.find("etcd_network_peer_round_trip_time_seconds_bucket{To=\"") !=
        std::string::npos);
  // A peer that is gone is no longer measured (failed probes record nothing) while the
  // others still are: at most the one probe in flight at the kill is counted after it.
  cluster.kill9(2);
  const double gone = round_trips(cluster, 0, 2);
  const double alive = round_trips(cluster, 0, 1);
  REQUIRE(testing::eventually([&] { return round_trips(cluster, 0, 1) >= alive + 3; }));
  CHECK(round_trips(cluster, 0, 2) <= gone + 1);
}

TEST_CASE("revkvd cluster: a leader stopped under writes exits cleanly", "[cluster][process]") {
  Cluster cluster(3);
  auto leader = cluster.find_leader(std::chrono::seconds(20));
  REQUIRE(leader);
  std::mutex mu;
  std::condition_variable progress;
  int64_t acks = 0;
  std::atomic<bool> stop{false};
  // Writers keep puts in flight on the leader's MessagePack door while it stops: each must
  // be answered or see its connection close, and the process must end (it once waited for
  // ever for writes whose proposals the stopped Raft member had dropped).
  auto writer = [&](int id) {
    auto c = cluster.connect(*leader);
    for (int64_t n = 0; !stop.load(); ++n) {
      storage::PutRequest p;
      p.key = "stop/w" + std::to_string(id) + "/" + std::to_string(n % 5);
      p.value = std::to_string(n);
      if (!c.put(p).ok()) return;
      std::lock_guard lock(mu);
      ++acks;
      progress.notify_all();
    }
  };
  std::vector<std::thread> writers;
  for (int i = 0; i < 4; ++i)
    writers.emplace_back(writer, i);
  bool loaded = false;
  {
    std::unique_lock lock(mu);
    loaded = progress.wait_for(lock, std::chrono::seconds(30), [&] { return acks >= 200; });
  }
  int status = cluster.stop(*leader, std::chrono::seconds(15));
  stop = true;
  for (auto& t : writers)
    t.join();
  REQUIRE(loaded);
  CHECK(status == 0);
}

// etcdctl 3.4's move-leader (Maintenance.MoveLeader, libraft's transfer): leadership moves
// to the member named; the leader refuses a transferee that is not a member, as etcd does.
TEST_CASE("revkvd cluster: etcdctl move-leader hands leadership to the member named",
          "[cluster][process]") {
  auto bin = testing::etcdctl_or_skip();
  if (bin.empty()) return;
  Cluster cluster(3);
  auto leader = cluster.find_leader(std::chrono::seconds(20));
  REQUIRE(leader);
  std::string endpoints;
  for (size_t i = 0; i < cluster.size(); ++i)
    endpoints += (i ? "," : "") + cluster.member(i).grpc_endpoint();
  const size_t target = (*leader + 1) % cluster.size();
  const std::string names[] = {"a", "b", "c"};
  auto hex = [](uint64_t id) {
    std::ostringstream out;
    out << std::hex << id;
    return out.str();
  };
  const std::string from = hex(cluster::member_id(names[*leader]));
  const std::string to = hex(cluster::member_id(names[target]));

  auto moved = testing::etcdctl(bin, endpoints, "move-leader " + to);
  CAPTURE(moved.out);
  REQUIRE(moved.status == 0);
  CHECK(moved.out == "Leadership transferred from " + from + " to " + to + "\n");
  // The target now leads: it takes writes, its metrics say so.
  auto now = cluster.find_leader(std::chrono::seconds(20));
  REQUIRE(now);
  CHECK(*now == target);
  auto metrics = testing::http_get(cluster.member(target).metrics_port(), "/metrics");
  CHECK(metrics.body.find("\netcd_server_is_leader 1\n") != std::string::npos);

  auto refused = testing::etcdctl(bin, endpoints, "move-leader 1234abcd");
  CAPTURE(refused.out);
  CHECK(refused.status != 0);
  CHECK(refused.out.find("etcdserver: bad leader transferee") != std::string::npos);
}

// Member i's revkv_backend_latest_flushes_total{reason="overwrites"} (-1: not exported).
double overwrite_flushes(Cluster& cluster, size_t i) {
  return metric_value(cluster, i, "\nrevkv_backend_latest_flushes_total{reason=\"overwrites\"} ");
}

TEST_CASE("revkvd cluster: every member flushes the latest column early by the single node's rule",
          "[cluster][process][metrics]") {
  // docs/STORAGE.md "Overwritten records": a memtable of newly created keys is never flushed
  // early, one of overwritten records is. A follower applies batches out of Raft entries,
  // which carry the proposer's count of new keys (docs/CLUSTER.md "Replicated writes");
  // without it every member flushed a first load of distinct keys at 16,384 entries.
  Cluster cluster(3);
  const size_t leader = cluster.require_leader();
  auto c = cluster.connect(leader);
  int64_t last = 0;
  // Transactions of 100 puts (etcd's limit is 128 operations), keys prefix + 0..count-1.
  auto put_keys = [&](const std::string& prefix, int count, const std::string& value) {
    for (int from = 0; from < count; from += 100) {
      storage::TxnRequest txn;
      for (int k = from; k < std::min(count, from + 100); ++k) {
        storage::PutRequest p;
        p.key = prefix + std::to_string(100000 + k);
        p.value = value;
        txn.success.push_back({p});
      }
      auto t = c.txn(txn);
      REQUIRE(t.ok());
      last = t.value().response.revision;
    }
  };
  put_keys("new/", 40000, "v");
  for (size_t i = 0; i < cluster.size(); ++i) {
    CAPTURE(i);
    REQUIRE(cluster.wait_revision(i, last, std::chrono::seconds(20)));
    CHECK(overwrite_flushes(cluster, i) == 0);
  }
  // 100 keys written 300 times: overwrites past the 16,384-entry minimum on every member.
  for (int round = 0; round < 300; ++round)
    put_keys("hot/", 100, "r" + std::to_string(round));
  for (size_t i = 0; i < cluster.size(); ++i) {
    CAPTURE(i);
    REQUIRE(cluster.wait_revision(i, last, std::chrono::seconds(20)));
    CHECK(overwrite_flushes(cluster, i) >= 1);
  }
}
