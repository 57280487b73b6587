// Followers forward to the leader (docs/CLUSTER.md "Forwarding"): writes, linearizable reads
// and lease calls that reach a follower's MessagePack or gRPC door are served by the leader
// and relayed unchanged; a follower-only client keeps working across a leader kill; with
// auth the caller's token travels with the request and the leader's verdict comes back; a
// leader that does not answer is an Unavailable within a deadline, not a hang.

#include "client/client.hpp"
#include "tests/cluster/revkvd_cluster.hpp"
#include "tests/cluster/token_forwarding.hpp"
#include "tests/etcdapi/etcdctl_run.hpp"
#include "tests/monitoring/http_client.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <csignal>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <sys/types.h>
#include <thread>
#include <vector>

using namespace revkv;
using Clock = std::chrono::steady_clock;
using testing::Cluster;
using testing::eventually;
using testing::put_of;
using testing::value_at;

namespace {

storage::RangeRequest key_at(const std::string& key, int64_t revision) {
  storage::RangeRequest r;
  r.key = key;
  r.revision = revision;
  r.serializable = true;
  return r;
}

double metric(Cluster& cluster, size_t i, const std::string& name) {
  auto got = testing::http_get(cluster.member(i).metrics_port(), "/metrics");
  auto at = got.body.find("\n" + name + " ");
  if (at == std::string::npos) return -1;
  return std::stod(got.body.substr(at + name.size() + 2));
}

// A follower the cluster leads from (its leader has published where it serves).
size_t follower_of(Cluster& cluster, size_t leader) {
  return (leader + 1) % cluster.size();
}

}  // namespace

TEST_CASE("forwarding: a follower's MessagePack door serves writes and linearizable reads",
          "[cluster][process]") {
  Cluster cluster(3);
  auto leader = cluster.find_leader(std::chrono::seconds(20));
  REQUIRE(leader);
  size_t follower = follower_of(cluster, *leader);
  auto f = cluster.connect(follower);

  // Put (answered once the leader published its address: before that, not leader).
  std::optional<int64_t> first;
  REQUIRE(eventually([&] {
    auto put = f.put(put_of("fw/a", "1"));
    if (put.ok()) first = put.value().response.revision;
    return put.ok();
  }));
  CHECK(value_at(cluster, *leader, "fw/a", *first) == "1");

  // A txn whose compare holds, at the leader's next revision.
  storage::TxnRequest txn;
  storage::Compare cmp;
  cmp.result = 0;  // EQUAL
  cmp.target = static_cast<int32_t>(storage::CompareTarget::value);
  cmp.union_kind = storage::CompareTarget::value;
  cmp.key = "fw/a";
  cmp.value = "1";
  txn.compare.push_back(cmp);
  txn.success.push_back({put_of("fw/b", "from-txn")});
  auto t = f.txn(txn);
  REQUIRE(t.ok());
  CHECK(t.value().response.succeeded);
  int64_t txn_rev = t.value().response.revision;
  CHECK(txn_rev > *first);
  CHECK(value_at(cluster, *leader, "fw/b", txn_rev) == "from-txn");

  // A linearizable read through the follower sees the write just made.
  storage::RangeRequest read;
  read.key = "fw/b";
  auto r = f.range(read);
  REQUIRE(r.ok());
  CHECK(r.value().response.revision >= txn_rev);
  REQUIRE(r.value().response.kvs.size() == 1);
  CHECK(r.value().response.kvs[0].value == "from-txn");

  // Delete.
  storage::DeleteRangeRequest del;
  del.key = "fw/a";
  auto d = f.delete_range(del);
  REQUIRE(d.ok());
  CHECK(d.value().response.deleted == 1);
  CHECK(value_at(cluster, *leader, "fw/a", d.value().response.revision) == "");

  // A lease granted through the follower, a key attached to it, its time to live.
  protocol::LeaseGrantRequest grant;
  grant.ttl = 60;
  auto lease = f.lease_grant(grant);
  REQUIRE(lease.ok());
  CHECK(lease.value().id != 0);
  auto attached = f.put(put_of("fw/leased", "x", lease.value().id));
  REQUIRE(attached.ok());
  protocol::LeaseTimeToLiveRequest ttl;
  ttl.id = lease.value().id;
  ttl.keys = true;
  auto alive = f.lease_time_to_live(ttl);
  REQUIRE(alive.ok());
  CHECK(alive.value().ttl > 0);
  REQUIRE(alive.value().keys.size() == 1);
  CHECK(alive.value().keys[0] == "fw/leased");
  protocol::LeaseKeepAliveRequest keep;
  keep.id = lease.value().id;
  auto kept = f.lease_keep_alive(keep);
  REQUIRE(kept.ok());
  CHECK(kept.value().ttl == 60);

  // Compaction through the follower compacts the leader (and, through the log, everyone).
  protocol::CompactionRequest compact;
  compact.revision = txn_rev;
  auto c = f.compact(compact);
  REQUIRE(c.ok());
  auto old = cluster.connect(*leader).range(key_at("fw/b", txn_rev - 1));
  REQUIRE_FALSE(old.ok());
  CHECK(old.error().message == "etcdserver: mvcc: required revision has been compacted");

  // The leader's own refusal comes back unchanged: a key too large is its error.
  auto refused = f.put(put_of("", "no key"));
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().message == "etcdserver: key is not provided");

  // Every member applied the same, and the follower counted what it forwarded.
  CHECK(eventually([&] { return testing::same_hash(cluster); }));
  CHECK(metric(cluster, follower, "revkv_cluster_forwarded_requests_total") >= 9);
  CHECK(metric(cluster, *leader, "revkv_cluster_forwarded_requests_total") == 0);

  // A restarted follower knows where the leader serves from its store (the leader does not
  // publish again while it keeps leading): it forwards at once.
  REQUIRE(cluster.stop(follower, std::chrono::seconds(15)) == 0);
  cluster.start(follower);
  auto again = cluster.connect(follower);
  CHECK(eventually([&] { return again.put(put_of("fw/after-restart", "y")).ok(); }));
  auto s = cluster.connect(*leader).status();
  REQUIRE(s.ok());
  CHECK(s.value().leader == s.value().header.member_id);  // the same leader throughout
}

// etcd's member answers a write it forwarded once it applied it, so its serializable reads
// see the write at once (docs/CLUSTER.md "Forwarding"). A seeded random run of puts, deletes
// and Txns through a follower, each followed by a serializable read on another connection to
// that follower, which must answer at the write's revision or later, with the write's effect;
// the same after a linearizable read through the follower, and after a Compact through it.
TEST_CASE("forwarding: a follower's serializable read right after a write it forwarded sees it",
          "[cluster][process]") {
  Cluster cluster(3);
  const size_t leader = cluster.require_leader();
  size_t follower = follower_of(cluster, leader);
  auto f = cluster.connect(follower);
  auto reader = cluster.connect(follower);
  REQUIRE(eventually([&] { return f.put(put_of("ryw/warm", "x")).ok(); }));

  std::mt19937 random(20261207);
  std::map<std::string, std::string> model;
  for (int step = 0; step < 60; ++step) {
    const std::string key = "ryw/" + std::to_string(random() % 6);
    const std::string value = "v" + std::to_string(step);
    int64_t revision = 0;
    switch (random() % 3) {
      case 0: {
        auto put = f.put(put_of(key, value));
        REQUIRE(put.ok());
        revision = put.value().response.revision;
        model[key] = value;
        break;
      }
      case 1: {
        storage::DeleteRangeRequest del;
        del.key = key;
        auto d = f.delete_range(del);
        REQUIRE(d.ok());
        CHECK(d.value().response.deleted == (model.erase(key) ? 1 : 0));
        revision = d.value().response.revision;
        break;
      }
      default: {
        // A put guarded by the key's absence, else an overwrite: either branch writes.
        storage::TxnRequest txn;
        storage::Compare absent;
        absent.key = key;
        absent.target = static_cast<int32_t>(storage::CompareTarget::version);
        absent.union_kind = storage::CompareTarget::version;
        absent.result = static_cast<int32_t>(storage::CompareResult::equal);
        absent.number = 0;
        txn.compare.push_back(absent);
        txn.success.push_back({put_of(key, value + "-new")});
        txn.failure.push_back({put_of(key, value + "-again")});
        auto t = f.txn(txn);
        REQUIRE(t.ok());
        CHECK(t.value().response.succeeded == (model.count(key) == 0));
        model[key] = value + (t.value().response.succeeded ? "-new" : "-again");
        revision = t.value().response.revision;
        break;
      }
    }
    storage::RangeRequest read;
    read.key = key;
    read.serializable = true;
    auto got = reader.range(read);
    REQUIRE(got.ok());
    CAPTURE(step, key, revision);
    CHECK(got.value().response.revision >= revision);
    auto expected = model.find(key);
    if (expected == model.end()) {
      CHECK(got.value().response.kvs.empty());
    } else {
      REQUIRE(got.value().response.kvs.size() == 1);
      CHECK(got.value().response.kvs[0].value == expected->second);
    }
  }

  // A linearizable read through the follower of what another client wrote through the
  // leader, then a serializable read there: at least as new (etcd's follower answers a
  // linearizable read once it applied up to the leader's read index).
  auto direct = cluster.connect(leader);
  for (int i = 0; i < 20; ++i) {
    CAPTURE(i);
    const std::string value = "direct-" + std::to_string(i);
    auto written = direct.put(put_of("ryw/direct", value));
    REQUIRE(written.ok());
    storage::RangeRequest linearizable;
    linearizable.key = "ryw/direct";
    auto seen = f.range(linearizable);
    REQUIRE(seen.ok());
    REQUIRE(seen.value().response.kvs.size() == 1);
    CHECK(seen.value().response.kvs[0].value == value);
    storage::RangeRequest local = linearizable;
    local.serializable = true;
    auto after = reader.range(local);
    REQUIRE(after.ok());
    CHECK(after.value().response.revision >= seen.value().response.revision);
    REQUIRE(after.value().response.kvs.size() == 1);
    CHECK(after.value().response.kvs[0].value == value);
  }

  // So does a compaction it forwarded (etcd's member answers its own Compact once it
  // compacted): a serializable read on it right after, at a revision the compaction
  // removed, is refused as it is on the leader. Logical, then physical.
  auto last = f.put(put_of("ryw/last", "x"));
  REQUIRE(last.ok());
  const int64_t at = last.value().response.revision;
  for (auto [revision, physical] : {std::pair{at - 20, false}, std::pair{at - 1, true}}) {
    CAPTURE(revision, physical);
    REQUIRE(f.compact(protocol::CompactionRequest{revision, physical}).ok());
    storage::RangeRequest old;
    old.key = "ryw/last";
    old.revision = revision - 1;
    old.serializable = true;
    auto refused = reader.range(old);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().message == "etcdserver: mvcc: required revision has been compacted");
    // A physical one is answered once this member's own physical job is done too.
    if (physical) CHECK(metric(cluster, follower, "revkv_compact_finished_revision") >= revision);
  }

  // A compaction through the leader, then a linearizable read through the follower below it:
  // refused, and a serializable read there right after is refused too (the follower answers
  // the leader's refusal once its own compaction passed the revision).
  for (int i = 0; i < 5; ++i) {
    CAPTURE(i);
    auto written = direct.put(put_of("ryw/compacted", std::to_string(i)));
    REQUIRE(written.ok());
    const int64_t revision = written.value().response.revision;
    REQUIRE(direct.compact(protocol::CompactionRequest{revision, false}).ok());
    storage::RangeRequest old;
    old.key = "ryw/compacted";
    old.revision = revision - 1;
    auto linearizable = f.range(old);
    REQUIRE_FALSE(linearizable.ok());
    CHECK(linearizable.error().message == "etcdserver: mvcc: required revision has been compacted");
    old.serializable = true;
    auto local = reader.range(old);
    REQUIRE_FALSE(local.ok());
    CHECK(local.error().message == "etcdserver: mvcc: required revision has been compacted");
  }
}

// The forwarder pipelines (apps/revkvd/forwarder.hpp): requests of many connections share
// its few connections to the leader and go out in batches. Each answer must still be its
// own request's: 8 connections to one follower, each putting its own keys and reading each
// back linearizably (forwarded too), while the others do the same.
TEST_CASE("forwarding: many connections' requests through one follower each get their own answer",
          "[cluster][process]") {
  Cluster cluster(3);
  size_t follower = follower_of(cluster, cluster.require_leader());
  {
    auto warm = cluster.connect(follower);
    REQUIRE(eventually([&] { return warm.put(put_of("many/warm", "x")).ok(); }));
  }
  constexpr int kConnections = 8;
  constexpr int kRounds = 40;
  std::vector<std::string> failures(kConnections);
  std::vector<std::thread> threads;
  for (int t = 0; t < kConnections; ++t) {
    threads.emplace_back([&, t] {
      auto c = cluster.connect(follower);
      for (int i = 0; i < kRounds && failures[t].empty(); ++i) {
        const std::string key = "many/" + std::to_string(t) + "/" + std::to_string(i % 5);
        const std::string value = std::to_string(t) + ":" + std::to_string(i);
        auto put = c.put(put_of(key, value));
        if (!put.ok()) {
          failures[t] = "put: " + put.error().message;
          break;
        }
        storage::RangeRequest read;
        read.key = key;
        auto got = c.range(read);
        if (!got.ok() || got.value().response.kvs.size() != 1) {
          failures[t] = "read of " + key + " failed";
        } else if (got.value().response.kvs[0].value != value ||
                   got.value().response.kvs[0].mod_revision != put.value().response.revision) {
          failures[t] = key + ": read " + got.value().response.kvs[0].value + " at " +
                        std::to_string(got.value().response.kvs[0].mod_revision) + ", put " +
                        value + " at " + std::to_string(put.value().response.revision);
        }
      }
    });
  }
  for (auto& thread : threads)
    thread.join();
  for (int t = 0; t < kConnections; ++t) {
    CAPTURE(t, failures[t]);
    CHECK(failures[t].empty());
  }
  CHECK(eventually([&] { return testing::same_hash(cluster); }));
}

TEST_CASE("forwarding: etcdctl against a follower's gRPC door", "[cluster][process]") {
  auto bin = testing::etcdctl_or_skip();
  if (bin.empty()) return;
  Cluster cluster(3);
  auto leader = cluster.find_leader(std::chrono::seconds(20));
  REQUIRE(leader);
  size_t follower = follower_of(cluster, *leader);
  const std::string at = cluster.member(follower).grpc_endpoint();
  auto ctl = [&](const std::string& args, const std::string& input = "") {
    return testing::etcdctl(bin, at, args, input);
  };

  REQUIRE(eventually([&] { return ctl("put g1 one").status == 0; }));
  auto txn = ctl("txn", "value(\"g1\") = \"one\"\n\nput g2 two\n\nput g2 never\n\n");
  CAPTURE(txn.out);
  CHECK(txn.status == 0);
  CHECK(txn.out.find("SUCCESS") != std::string::npos);
  auto get = ctl("get g2 --print-value-only");
  CAPTURE(get.out);
  CHECK(get.out == "two\n");
  // A serializable read on the member that forwarded a write sees it, as on etcd.
  CHECK(ctl("put g3 three").status == 0);
  CHECK(ctl("get g3 --print-value-only --consistency=s").out == "three\n");
  CHECK(ctl("del g1").out == "1\n");
  CHECK(ctl("get g1 --consistency=s").out.empty());
  auto lease = ctl("lease grant 30");
  CAPTURE(lease.out);
  CHECK(lease.status == 0);
  CHECK(lease.out.find("granted with TTL(30s)") != std::string::npos);
  auto status = ctl("-w json get g2");
  CAPTURE(status.out);
  auto rev_at = status.out.find("\"revision\":");
  REQUIRE(rev_at != std::string::npos);
  int64_t revision = std::stoll(status.out.substr(rev_at + 11));
  auto compacted = ctl("compaction " + std::to_string(revision));
  CAPTURE(compacted.out);
  CHECK(compacted.status == 0);

  // The leader holds the same, at the same revision.
  CHECK(value_at(cluster, *leader, "g2", revision) == "two");
  CHECK(value_at(cluster, *leader, "g1", revision) == "");
  // MemberList names every member's client URL once they led (the leader's at least).
  auto list = ctl("member list");
  CAPTURE(list.out);
  CHECK(list.out.find(cluster.member(*leader).grpc_endpoint()) != std::string::npos);
}

TEST_CASE("forwarding: a follower-only client keeps working across a leader kill",
          "[cluster][process]") {
  Cluster cluster(3);
  auto leader = cluster.find_leader(std::chrono::seconds(20));
  REQUIRE(leader);
  size_t follower = follower_of(cluster, *leader);
  auto f = cluster.connect(follower);
  std::map<std::string, std::string> acked;
  int64_t acked_revision = 0;
  // Writes with retries on Unavailable, as etcd's clients do; each acknowledged one counts.
  auto write = [&](int n) {
    std::string key = "fo/" + std::to_string(n % 13);
    std::string value = std::to_string(n);
    return eventually(
        [&] {
          auto put = f.put(put_of(key, value));
          if (!put.ok()) {
            // The outcome of a failed attempt is unknown; the next attempt writes it again.
            CHECK(put.error().code == 14);
            return false;
          }
          acked[key] = value;
          acked_revision = std::max(acked_revision, put.value().response.revision);
          return true;
        },
        std::chrono::seconds(30));
  };
  for (int n = 0; n < 50; ++n)
    REQUIRE(write(n));
  cluster.kill9(*leader);
  for (int n = 50; n < 150; ++n)
    REQUIRE(write(n));
  // Linearizable reads through the same follower see every acknowledged write.
  for (const auto& [key, value] : acked) {
    CAPTURE(key);
    storage::RangeRequest r;
    r.key = key;
    std::optional<std::string> seen;
    REQUIRE(eventually([&] {
      auto got = f.range(r);
      if (got.ok() && got.value().response.kvs.size() == 1)
        seen = got.value().response.kvs[0].value;
      return got.ok();
    }));
    CHECK(seen == value);
  }
  cluster.start(*leader);
  CHECK(cluster.wait_revision(*leader, acked_revision, std::chrono::seconds(30)));
}

TEST_CASE("forwarding: a leader that does not answer is Unavailable within a deadline",
          "[cluster][process]") {
  Cluster cluster(3);
  auto leader = cluster.find_leader(std::chrono::seconds(20));
  REQUIRE(leader);
  size_t follower = follower_of(cluster, *leader);
  auto f = cluster.connect(follower);
  REQUIRE(eventually([&] { return f.put(put_of("h/1", "x")).ok(); }));
  // Frozen, the leader keeps its sockets open: the forwarded request gets no answer.
  pid_t frozen = cluster.member(*leader).pid();
  REQUIRE(::kill(frozen, SIGSTOP) == 0);
  auto started = Clock::now();
  auto put = f.put(put_of("h/2", "y"));
  auto took = Clock::now() - started;
  ::kill(frozen, SIGCONT);
  REQUIRE_FALSE(put.ok());
  CHECK(put.error().code == 14);
  CAPTURE(put.error().message);
  // 5 s of forwarding timeout, or an election that moved leadership meanwhile.
  CHECK(took < std::chrono::seconds(15));
  CHECK(metric(cluster, follower, "revkv_cluster_forward_failures_total") >= 1);
  // Afterwards the cluster serves through the follower again.
  CHECK(eventually([&] { return f.put(put_of("h/3", "z")).ok(); }, std::chrono::seconds(30)));
}

TEST_CASE("forwarding: with auth the caller's token is forwarded and the leader decides",
          "[cluster][process][auth]") {
  Cluster cluster(3);
  auto leader = cluster.find_leader(std::chrono::seconds(20));
  REQUIRE(leader);
  size_t follower = follower_of(cluster, *leader);
  testing::require_token_forwarding(cluster, *leader, follower, "forged.token");
}

// The loop marker (docs/CLUSTER.md "Forwarding"): a request marked `forwarded` — what a
// member's forwarder sends — is refused by a follower with `etcdserver: not leader`, not
// forwarded again, while the same request unmarked is forwarded and served; the leader
// serves marked requests as any other.
TEST_CASE("forwarding: a follower refuses a request marked forwarded instead of forwarding it",
          "[cluster][process]") {
  Cluster cluster(3);
  auto leader = cluster.find_leader(std::chrono::seconds(20));
  REQUIRE(leader);
  size_t follower = follower_of(cluster, *leader);
  auto plain = cluster.connect(follower);
  auto marked = cluster.connect(follower);
  marked.set_forwarded(true);
  const std::string forwarded_total = "revkv_cluster_forwarded_requests_total";

  // Unmarked: forwarded and served (once the leader has published where it serves).
  int64_t first = 0;
  REQUIRE(eventually([&] {
    auto put = plain.put(put_of("mark/a", "1"));
    if (put.ok()) first = put.value().response.revision;
    return put.ok();
  }));
  const double sent = metric(cluster, follower, forwarded_total);
  CHECK(sent >= 1);

  auto not_leader = [](const auto& result) {
    return !result.ok() && result.error().code == 14 &&
           result.error().message == "etcdserver: not leader";
  };
  // Marked: each forwarded kind is refused here, at once and without being sent on.
  CHECK(not_leader(marked.put(put_of("mark/a", "2"))));  // the request path, a write
  storage::RangeRequest linearizable;
  linearizable.key = "mark/a";
  CHECK(not_leader(marked.range(linearizable)));  // a linearizable read
  CHECK(not_leader(marked.lease_grant(protocol::LeaseGrantRequest{60, 0})));
  CHECK(not_leader(marked.authenticate("root", "pw")));  // forward_auth_atom
  CHECK(not_leader(marked.member_remove(0x1234)));       // membership forwarding
  CHECK(metric(cluster, follower, forwarded_total) == sent);
  // What a follower serves itself is served, marked or not (once it applied the put).
  REQUIRE(cluster.wait_revision(follower, first, std::chrono::seconds(20)));
  auto serializable = marked.range(key_at("mark/a", 0));
  REQUIRE(serializable.ok());
  REQUIRE(serializable.value().response.kvs.size() == 1);
  CHECK(serializable.value().response.kvs[0].value == "1");

  // The same requests unmarked are forwarded, and the leader's answers come back.
  auto read = plain.range(linearizable);
  REQUIRE(read.ok());
  CHECK(read.value().response.kvs.at(0).value == "1");
  auto unknown = plain.member_remove(0x1234);
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.error().message == "etcdserver: member not found");
  auto authenticate = plain.authenticate("root", "pw");
  REQUIRE_FALSE(authenticate.ok());  // auth is off: the leader's refusal, relayed
  CHECK(authenticate.error().message != "etcdserver: not leader");
  CHECK(metric(cluster, follower, forwarded_total) == sent + 3);

  // The leader serves a marked request as its own clients' (a member forwarded it there).
  auto at_leader = cluster.connect(*leader);
  at_leader.set_forwarded(true);
  auto third = at_leader.put(put_of("mark/a", "3"));
  REQUIRE(third.ok());
  CHECK(value_at(cluster, *leader, "mark/a", third.value().response.revision) == "3");
}
