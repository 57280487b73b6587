// Leases against a real revkvd over TCP: expiry deletes the attached keys, a restart keeps
// the leases with a full TTL, puts racing a revoke never leave a key attached to a revoked
// lease, absurd inputs get etcd's answers, grants and revocations survive a crash once
// answered, and revkvctl's lease commands work end to end.

#include "apps/revkvctl/run.hpp"
#include "client/client.hpp"
#include "tests/node/node_process.hpp"
#include "tests/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

using namespace revkv;
using Clock = std::chrono::steady_clock;

namespace {

client::Client connect(const testing::NodeProcess& node) {
  auto c = client::Client::connect(node.endpoint());
  if (!c.ok()) FAIL("connect " << node.endpoint() << ": " << c.error().message);
  return std::move(c).value();
}

storage::PutRequest put(std::string key, std::string value, int64_t lease = 0) {
  storage::PutRequest p;
  p.key = std::move(key);
  p.value = std::move(value);
  p.lease = lease;
  return p;
}

storage::RangeRequest prefix(const std::string& p) {
  storage::RangeRequest r;
  r.key = p;
  std::string end = p;
  ++end.back();
  r.range_end = end;
  return r;
}

std::vector<std::string> keys_of(client::Client& c, const std::string& p) {
  auto r = c.range(prefix(p));
  REQUIRE(r.ok());
  std::vector<std::string> out;
  for (const auto& kv : r.value().response.kvs)
    out.push_back(kv.key);
  return out;
}

protocol::LeaseTimeToLiveResponse ttl(client::Client& c, int64_t id, bool keys = false) {
  auto r = c.lease_time_to_live(protocol::LeaseTimeToLiveRequest{id, keys});
  REQUIRE(r.ok());
  return r.value();
}

int64_t current_revision(client::Client& c) {
  auto s = c.status();
  REQUIRE(s.ok());
  return s.value().header.revision;
}

}  // namespace

TEST_CASE("leases: absurd inputs get etcd's answers", "[node][lease]") {
  testing::TempDir dir;
  testing::NodeProcess node(dir.sub("data"), {"--shards", "2"});
  auto c = connect(node);

  auto huge = c.lease_grant(protocol::LeaseGrantRequest{9'000'000'001, 1});
  REQUIRE_FALSE(huge.ok());
  CHECK(huge.error().code == 11);
  CHECK(huge.error().message == "etcdserver: too large lease TTL");
  auto max_int = c.lease_grant(protocol::LeaseGrantRequest{INT64_MAX, 1});
  REQUIRE_FALSE(max_int.ok());
  CHECK(max_int.error().code == 11);

  auto negative = c.lease_grant(protocol::LeaseGrantRequest{-5, 1});
  REQUIRE(negative.ok());
  CHECK(negative.value().ttl == 2);
  auto min_int = c.lease_grant(protocol::LeaseGrantRequest{INT64_MIN, INT64_MIN});
  REQUIRE(min_int.ok());
  CHECK(min_int.value().id == INT64_MIN);
  CHECK(min_int.value().ttl == 2);
  auto twice = c.lease_grant(protocol::LeaseGrantRequest{30, 1});
  REQUIRE_FALSE(twice.ok());
  CHECK(twice.error().code == 9);
  CHECK(twice.error().message == "etcdserver: lease already exists");

  auto revoke_zero = c.lease_revoke(protocol::LeaseRevokeRequest{0});
  REQUIRE_FALSE(revoke_zero.ok());
  CHECK(revoke_zero.error().code == 5);
  CHECK(revoke_zero.error().message == "etcdserver: requested lease not found");
  auto revoke_unknown = c.lease_revoke(protocol::LeaseRevokeRequest{INT64_MAX});
  REQUIRE_FALSE(revoke_unknown.ok());
  CHECK(revoke_unknown.error().code == 5);

  for (int64_t id : {int64_t{0}, int64_t{424242}, int64_t{-1}}) {
    auto kept = c.lease_keep_alive(protocol::LeaseKeepAliveRequest{id});
    REQUIRE(kept.ok());
    CHECK(kept.value().id == id);
    CHECK(kept.value().ttl == 0);
    auto t = ttl(c, id, true);
    CHECK(t.ttl == -1);
    CHECK(t.granted_ttl == 0);
  }
  auto bad_put = c.put(put("k", "v", 424242));
  REQUIRE_FALSE(bad_put.ok());
  CHECK(bad_put.error().code == 5);
  CHECK(current_revision(c) == 1);
}

TEST_CASE("leases: expiry revokes the lease and deletes its keys", "[node][lease]") {
  testing::TempDir dir;
  // The check interval from the YAML file (flags and env are the same option table).
  std::ofstream(dir.sub("node.yaml")) << "lease_check_interval: 100ms\nlease_revoke_rate: 500\n";
  testing::NodeProcess node(dir.sub("data"), {"--shards", "3", "--config", dir.sub("node.yaml")});
  auto c = connect(node);
  auto granted = c.lease_grant(protocol::LeaseGrantRequest{1, 5});  // raised to the 2 s minimum
  auto start = Clock::now();
  REQUIRE(granted.ok());
  REQUIRE(granted.value().ttl == 2);
  REQUIRE(c.lease_grant(protocol::LeaseGrantRequest{300, 6}).ok());
  for (const char* k : {"e/a", "e/b", "e/c", "e/d"})
    REQUIRE(c.put(put(k, "v", 5)).ok());
  REQUIRE(c.put(put("e/kept", "v", 6)).ok());
  REQUIRE(c.put(put("e/plain", "v")).ok());
  int64_t before = current_revision(c);
  // A watcher of the prefix sees the expiry: one revision of DELETE events in key order.
  auto watcher = connect(node);
  std::vector<protocol::WatchResponse> seen;
  watcher.set_notification_handler([&](const client::Notification& n) {
    auto w = client::decode_watch_notification(n);
    if (w.ok()) seen.push_back(std::move(w).value());
  });
  protocol::WatchCreateRequest create;
  create.key = "e/";
  create.range_end = "e0";
  create.prev_kv = true;
  REQUIRE(watcher.watch(protocol::WatchRequest{create}).ok());

  while (ttl(c, 5).ttl != -1 && Clock::now() - start < std::chrono::seconds(10))
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  auto took = Clock::now() - start;
  CHECK(ttl(c, 5).ttl == -1);
  // Not before its TTL. When after it is not asserted (a loaded machine delays the
  // lessor's tick); the loop's 10 s deadline only bounds the wait.
  CHECK(took >= std::chrono::milliseconds(1900));
  CHECK(keys_of(c, "e/") == std::vector<std::string>{"e/kept", "e/plain"});
  CHECK(current_revision(c) == before + 1);  // every key at one revision
  auto list = c.lease_leases();
  REQUIRE(list.ok());
  REQUIRE(list.value().leases.size() == 1);
  CHECK(list.value().leases[0].id == 6);

  while (seen.empty())
    REQUIRE(watcher.pump_for(std::chrono::seconds(10)).value());
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].header.revision == before + 1);
  std::vector<std::string> deleted;
  for (const auto& ev : seen[0].events) {
    CHECK(ev.type == storage::Event::Type::del);
    CHECK(ev.kv.mod_revision == before + 1);
    REQUIRE(ev.prev_kv);
    CHECK(ev.prev_kv->lease == 5);
    deleted.push_back(ev.kv.key);
  }
  CHECK(deleted == std::vector<std::string>{"e/a", "e/b", "e/c", "e/d"});
}

TEST_CASE("leases: a restart keeps leases and attachments, with a full TTL again",
          "[node][lease]") {
  testing::TempDir dir;
  {
    testing::NodeProcess node(dir.sub("data"), {"--shards", "3"});
    auto c = connect(node);
    REQUIRE(c.lease_grant(protocol::LeaseGrantRequest{10, 77}).ok());
    REQUIRE(c.lease_grant(protocol::LeaseGrantRequest{60, 78}).ok());
    REQUIRE(c.put(put("r/a", "1", 77)).ok());
    REQUIRE(c.put(put("r/b", "2", 77)).ok());
    // Until at most 2.99 s are left (reported as 2, however late it is seen) before the
    // node stops: a condition with a deadline, not a sleep.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (ttl(c, 77).ttl > 2 && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(100));  // polling interval
    REQUIRE(ttl(c, 77).ttl <= 2);
    CHECK(node.stop() == 0);
  }
  testing::NodeProcess node(dir.sub("data"), {"--shards", "3"});
  auto c = connect(node);
  auto t = ttl(c, 77, true);
  CHECK(t.granted_ttl == 10);
  // The full TTL plus the 1 s extension from the lessor's start, truncated: 10 or 11 when
  // asked at once. At least 5 leaves a loaded machine 6 s from the lessor's start to this
  // answer, and still tells a reset TTL from the old one: the under 3 s left before the
  // restart, even with the 1 s extension added, reads 3 at most.
  CHECK(t.ttl >= 5);
  CHECK(t.ttl <= 11);
  std::sort(t.keys.begin(), t.keys.end());
  CHECK(t.keys == std::vector<std::string>{"r/a", "r/b"});
  CHECK(ttl(c, 78).granted_ttl == 60);
  // Still a lease for puts, and revocable with its keys.
  REQUIRE(c.put(put("r/c", "3", 77)).ok());
  REQUIRE(c.lease_revoke(protocol::LeaseRevokeRequest{77}).ok());
  CHECK(keys_of(c, "r/").empty());
}

TEST_CASE("leases: puts racing a revoke never leave a key on a revoked lease",
          "[node][lease][race]") {
  testing::TempDir dir;
  testing::NodeProcess node(dir.sub("data"), {"--shards", "4", "--sync", "never"});
  auto writer = connect(node);
  auto revoker = connect(node);
  constexpr int kRounds = 150;
  std::mt19937 rng(1234);
  int landed = 0;
  int refused = 0;
  for (int round = 0; round < kRounds; ++round) {
    int64_t lease = 1000 + round;
    REQUIRE(revoker.lease_grant(protocol::LeaseGrantRequest{60, lease}).ok());
    std::atomic<bool> revoked{false};
    bool revoke_ok = false;  // Catch2 assertions only on this thread
    auto delay = std::chrono::microseconds(rng() % 3000);
    std::thread revoking([&] {
      std::this_thread::sleep_for(delay);
      revoke_ok = revoker.lease_revoke(protocol::LeaseRevokeRequest{lease}).ok();
      revoked = true;
    });
    // Puts on keys of every shard until the lease is gone (and a few after).
    int after = 0;
    for (int i = 0; i < 200 && after < 3; ++i) {
      auto key = "race/" + std::to_string(round) + "/" + std::to_string(i);
      // Every third write is a Txn of two puts (two shards: through the coordinator).
      client::Result<bool> r = true;
      if (i % 3 == 2) {
        storage::TxnRequest txn;
        // Assigned, not brace-initialised: GCC 12 warns (falsely) about the Box
        // alternative of a temporary RequestOp's variant.
        txn.success.emplace_back().op = put(key, "v", lease);
        txn.success.emplace_back().op = put(key + "/t", "v", lease);
        auto t = writer.txn(txn);
        if (!t.ok()) r = t.error();
      } else {
        auto p = writer.put(put(key, "v", lease));
        if (!p.ok()) r = p.error();
      }
      if (r.ok()) {
        ++landed;
      } else {
        CHECK(r.error().code == 5);
        ++refused;
      }
      if (revoked) ++after;
    }
    revoking.join();
    CHECK(revoke_ok);
  }
  // Every lease was revoked: no key may be left, and none may name a lease.
  auto left = writer.range(prefix("race/"));
  REQUIRE(left.ok());
  CHECK(left.value().response.count == 0);
  for (const auto& kv : left.value().response.kvs)
    CHECK(ttl(writer, kv.lease).ttl != -1);
  auto list = writer.lease_leases();
  REQUIRE(list.ok());
  CHECK(list.value().leases.empty());
  INFO("puts landed before a revoke: " << landed << ", refused after: " << refused);
  CHECK(landed > 0);
  CHECK(refused > 0);
}

TEST_CASE("leases: revkvctl's lease commands against a real node", "[node][lease][revkvctl]") {
  testing::TempDir dir;
  testing::NodeProcess node(dir.sub("data"), {"--shards", "2"});
  auto ctl = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"revkvctl", "--endpoint", node.endpoint()});
    std::istringstream in;
    std::ostringstream out, err;
    int code = ctl::main_with_args(args, in, out, err);
    INFO(err.str());
    CHECK(code == 0);
    return out.str();
  };
  auto granted = ctl({"lease", "grant", "30"});
  REQUIRE(granted.rfind("lease ", 0) == 0);
  std::string hex = granted.substr(6, 16);
  CHECK(granted == "lease " + hex + " granted with TTL(30s)\n");
  CHECK(ctl({"put", "ctl/k", "v", "--lease", hex}) == "OK\n");
  CHECK(ctl({"lease", "list"}) == "found 1 leases\n" + hex + "\n");
  CHECK(ctl({"lease", "keep-alive", hex, "--once"}) ==
        "lease " + hex + " keepalived with TTL(30)\n");
  auto alive = ctl({"lease", "timetolive", hex, "--keys"});
  CHECK(alive.rfind("lease " + hex + " granted with TTL(30s), remaining(", 0) == 0);
  CHECK(alive.find("attached keys([ctl/k])") != std::string::npos);
  CHECK(ctl({"lease", "revoke", hex}) == "lease " + hex + " revoked\n");
  CHECK(ctl({"get", "ctl/k"}).empty());
  CHECK(ctl({"lease", "timetolive", hex}) == "lease " + hex + " already expired\n");
}

TEST_CASE("leases: bad lease flags are refused", "[node][lease][daemon]") {
  auto zero = testing::run_revkvd({"--lease-check-interval", "0"});
  CHECK(zero.first == 1);
  CHECK(zero.second.find("--lease-check-interval") != std::string::npos);
  auto words = testing::run_revkvd({"--lease-check-interval", "often"});
  CHECK(words.first == 1);
  auto rate = testing::run_revkvd({"--lease-revoke-rate", "0"});
  CHECK(rate.first == 1);
  CHECK(rate.second.find("--lease-revoke-rate") != std::string::npos);
  testing::TempDir dir;
  std::ofstream(dir.sub("bad.yaml")) << "lease_revoke_rate: -3\n";
  auto from_file = testing::run_revkvd({"--config", dir.sub("bad.yaml")});
  CHECK(from_file.first == 1);
  CHECK(from_file.second.find("--lease-revoke-rate") != std::string::npos);
}

TEST_CASE("leases: etcd's Raft timing flags are checked in etcd's words", "[node][lease][daemon]") {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--heartbeat-interval", "0"}, "--heartbeat-interval must be >0 (set to 0ms)"},
      {{"--heartbeat-interval", "0", "--election-timeout", "0"},
       "--heartbeat-interval must be >0 (set to 0ms)"},
      {{"--election-timeout", "0"}, "--election-timeout must be >0 (set to 0ms)"},
      // etcd refuses a negative value as a flag it cannot parse; revkvd in the same sentence.
      {{"--heartbeat-interval", "-5"}, "--heartbeat-interval must be >0 (set to -5ms)"},
      // 5 x 3689348814741910324 wraps to 4 in 64 bits: still refused.
      {{"--heartbeat-interval", "3689348814741910324"},
       "should be at least as 5 times as --heartbeat-interval[3689348814741910324ms]"},
      {{"--heartbeat-interval", "300"},
       "--election-timeout[1000ms] should be at least as 5 times as --heartbeat-interval[300ms]"},
      {{"--election-timeout", "499"},
       "--election-timeout[499ms] should be at least as 5 times as --heartbeat-interval[100ms]"},
      {{"--election-timeout", "50001"},
       "--election-timeout[50001ms] is too long, and should be set less than 50000ms"},
  };
  for (const auto& [args, message] : cases) {
    INFO(args.front() << " " << args[1]);
    auto refused = testing::run_revkvd(args);
    CHECK(refused.first == 1);
    CHECK(refused.second.find(message) != std::string::npos);
  }
  // Cluster mode keeps etcd's defaults for now (docs/CLUSTER.md "Linearizable reads").
  auto clustered = testing::run_revkvd(
      {"--name", "a", "--initial-cluster", "a=127.0.0.1:1", "--election-timeout", "2000"});
  CHECK(clustered.first == 1);
  CHECK(clustered.second.find("only etcd's defaults (100 and 1000) in cluster mode") !=
        std::string::npos);
  // The same from the YAML file, under etcd's key names.
  testing::TempDir dir;
  std::ofstream(dir.sub("etcd.yaml")) << "heartbeat-interval: 300\nelection-timeout: 1000\n";
  auto from_file = testing::run_revkvd({"--config", dir.sub("etcd.yaml")});
  CHECK(from_file.first == 1);
  CHECK(from_file.second.find("should be at least as 5 times as --heartbeat-interval[300ms]") !=
        std::string::npos);
  // One key spelt both ways is refused, not silently resolved.
  std::ofstream(dir.sub("twice.yaml")) << "election_timeout: 2000\nelection-timeout: 3000\n";
  auto twice = testing::run_revkvd({"--config", dir.sub("twice.yaml")});
  CHECK(twice.first == 1);
  CHECK(twice.second.find("config file: key 'election-timeout' given twice") != std::string::npos);
}

TEST_CASE("leases: the minimum TTL and the restart extension follow --election-timeout, as etcd's",
          "[node][lease]") {
  testing::TempDir dir;
  // 10 ticks of 1 s: a minimum TTL of 15 s and a restart extension of 10 s.
  const std::vector<std::string> flags = {"--heartbeat-interval", "1000", "--election-timeout",
                                          "10000"};
  {
    testing::NodeProcess node(dir.sub("data"), flags);
    auto c = connect(node);
    auto small = c.lease_grant(protocol::LeaseGrantRequest{1, 91});
    REQUIRE(small.ok());
    CHECK(small.value().ttl == 15);
    auto large = c.lease_grant(protocol::LeaseGrantRequest{20, 92});
    REQUIRE(large.ok());
    CHECK(large.value().ttl == 20);
    CHECK(node.stop() == 0);
  }
  testing::NodeProcess node(dir.sub("data"), flags);
  auto c = connect(node);
  // A full TTL again plus 10 s, truncated: 29 or 30 when asked at once; the default 1 s
  // extension would give 20 at most. At least 22 leaves a loaded machine 8 s to restart.
  auto t = ttl(c, 92);
  CHECK(t.granted_ttl == 20);
  CHECK(t.ttl >= 22);
  CHECK(t.ttl <= 30);
}

TEST_CASE("leases: grants and revocations are durable before they are answered",
          "[node][lease][crash]") {
  testing::TempDir dir;
  const std::vector<std::string> flags = {"--shards", "2", "--sync", "always"};
  {
    testing::NodeProcess node(dir.sub("data"), flags);
    auto c = connect(node);
    for (int64_t id : {1, 2, 3})
      REQUIRE(c.lease_grant(protocol::LeaseGrantRequest{100, id}).ok());
    REQUIRE(c.put(put("d/a", "1", 2)).ok());
    REQUIRE(c.put(put("d/b", "2", 2)).ok());
    REQUIRE(c.lease_revoke(protocol::LeaseRevokeRequest{1}).ok());  // no key: no revision
    REQUIRE(c.lease_revoke(protocol::LeaseRevokeRequest{2}).ok());  // with its keys
    node.kill9();
  }
  testing::NodeProcess node(dir.sub("data"), flags);
  auto c = connect(node);
  CHECK(ttl(c, 1).ttl == -1);
  CHECK(ttl(c, 2).ttl == -1);
  CHECK(ttl(c, 3).granted_ttl == 100);
  CHECK(keys_of(c, "d/").empty());
  CHECK(current_revision(c) == 4);
}
