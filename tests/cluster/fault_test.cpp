// Faults on three revkvd processes with recorded histories checked for linearizability
// (docs/CLUSTER.md "Fault tests"): a frozen leader (SIGSTOP/SIGCONT), a frozen follower, two
// frozen members, kill -9 of the leader, and a leader or a follower isolated by cutting its
// Raft links in loopback proxies between the members (peer_proxy.hpp), each under concurrent
// clients; afterwards every member holds the same state and the history — with a final read
// of every key — has a linearization. REVKV_CLUSTER_LONG=1 repeats each fault 10 times in
// one cluster.

#include "client/client.hpp"
#include "cluster/members.hpp"
#include "protocol/codec.hpp"
#include "protocol/method.hpp"
#include "tests/cluster/history_checks.hpp"
#include "tests/cluster/history_workload.hpp"
#include "tests/cluster/peer_proxy.hpp"
#include "tests/cluster/revkvd_cluster.hpp"
#include "tests/etcdapi/etcdctl_run.hpp"
#include "tests/linearizability/checker.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <signal.h>
#include <string>
#include <sys/types.h>
#include <thread>
#include <vector>

using namespace revkv;
using namespace std::chrono_literals;
using testing::Cluster;
using testing::converged;
using testing::finish_round;
using testing::HistoryWorkload;
using testing::leader_among;
using testing::members_revived;
using testing::with_timeout;

namespace {

int rounds() {
  const char* long_mode = std::getenv("REVKV_CLUSTER_LONG");
  return long_mode != nullptr && std::string(long_mode) == "1" ? 10 : 1;
}

// The state letter of /proc/PID/stat ('T': stopped), 0 when it cannot be read.
char process_state(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto close = stat.rfind(')');
  return close == std::string::npos || close + 2 >= stat.size() ? 0 : stat[close + 2];
}

// A member frozen with SIGSTOP until thaw() or the end of the scope (SIGCONT), so that no
// member is left stopped for the cluster's own SIGTERM.
class Frozen {
 public:
  Frozen(Cluster& cluster, size_t i) : pid_(cluster.member(i).pid()) {
    ::kill(pid_, SIGSTOP);
    stopped_ = testing::eventually([&] { return process_state(pid_) == 'T'; }, 10s);
  }
  ~Frozen() { thaw(); }
  Frozen(const Frozen&) = delete;
  Frozen& operator=(const Frozen&) = delete;
  bool stopped() const { return stopped_; }
  void thaw() {
    if (pid_ > 0) ::kill(pid_, SIGCONT);
    pid_ = -1;
  }

 private:
  pid_t pid_;
  bool stopped_ = false;
};

size_t count_of(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1))
    ++n;
  return n;
}

std::string round_name(const char* fault, int round) {
  return std::string(fault) + "-" + std::to_string(round);
}

// Three members, each behind a PeerProxy: a member binds --listen-peer on a port of its own
// and is advertised in --initial-cluster at its proxy's port, so every Raft connection to it
// passes the proxy (docs/CLUSTER.md "Cut links"). The proxies outlive the members.
struct ProxiedCluster {
  std::vector<std::unique_ptr<testing::PeerProxy>> proxies;
  std::unique_ptr<Cluster> cluster;

  explicit ProxiedCluster(size_t size) {
    std::string initial;
    std::vector<std::vector<std::string>> flags;
    for (size_t i = 0; i < size; ++i) {
      const uint16_t listen = testing::free_loopback_port();
      proxies.push_back(std::make_unique<testing::PeerProxy>(listen));
      if (!initial.empty()) initial += ",";
      initial += std::string(1, static_cast<char>('a' + i)) +
                 "=127.0.0.1:" + std::to_string(proxies.back()->port());
      flags.push_back({"--listen-peer", "127.0.0.1:" + std::to_string(listen)});
    }
    cluster = std::make_unique<Cluster>(initial, flags);
  }
  ~ProxiedCluster() { cluster.reset(); }  // members first, then their proxies

  uint64_t id(size_t i) const { return cluster::member_id(cluster->name(i)); }
  // Every Raft link to and from member i cut (a symmetric partition {i} | the rest); its
  // clients still reach it.
  void isolate(size_t i) {
    proxies[i]->cut_all();
    for (size_t j = 0; j < proxies.size(); ++j)
      if (j != i) proxies[j]->cut(id(i));
  }
  void heal() {
    for (auto& p : proxies)
      p->heal();
  }
  uint64_t refused() const {
    uint64_t n = 0;
    for (const auto& p : proxies)
      n += p->refused();
    return n;
  }
};

// Heals the proxies on scope exit, so no round leaves a link cut.
struct Healed {
  ProxiedCluster& net;
  ~Healed() { net.heal(); }
};

}  // namespace

TEST_CASE("revkvd faults: a frozen leader is replaced and serves nothing stale when continued",
          "[cluster][process][faults]") {
  Cluster cluster(3);
  std::mutex mu;
  for (int round = 0; round < rounds(); ++round) {
    CAPTURE(round);
    auto leader = leader_among(cluster, mu, {}, 20s);
    REQUIRE(leader);
    HistoryWorkload load(cluster, mu, round_name("frozen-leader", round), 4, 2, 3, 1000ms);
    REQUIRE(load.wait_for_writes(50, 30s));
    // Connected before the freeze, so that the read sent while frozen is on a connection
    // the old leader knows (a connection still in the listen backlog when it restarts in
    // place would be reset, never answered).
    std::optional<client::Client> stale;
    {
      std::lock_guard lock(mu);
      auto connected =
          client::Client::connect(cluster.member(*leader).endpoint(), with_timeout(15000ms));
      REQUIRE(connected.ok());
      stale.emplace(std::move(connected).value());
    }
    {
      Frozen frozen(cluster, *leader);
      REQUIRE(frozen.stopped());
      // Another member leads within a few election timeouts (1 s each) and writes go on.
      auto next = leader_among(cluster, mu, {*leader}, 15s);
      REQUIRE(next);
      CHECK(*next != *leader);
      REQUIRE(load.wait_for_writes(50, 30s));

      // A value the old leader has never seen, acknowledged by the new one.
      const std::string probe = round_name("frozen-leader-probe", round);
      const std::string fresh = "after-freeze-" + std::to_string(round);
      {
        std::lock_guard lock(mu);
        auto c = client::Client::connect(cluster.member(*next).endpoint(), with_timeout(5000ms));
        REQUIRE(c.ok());
        storage::PutRequest p;
        p.key = probe;
        p.value = fresh;
        REQUIRE(c.value().put(p).ok());
      }
      // A linearizable read of it sent to the old leader while it is still frozen, so that it
      // is the first thing it handles when it wakes up believing it leads: it must answer
      // the fresh value or refuse, never the old state.
      storage::RangeRequest r;
      r.key = probe;
      auto id = stale->queue(protocol::method_name(protocol::Method::kv_range),
                             protocol::encode_to_string(r));
      REQUIRE(stale->flush().ok());
      frozen.thaw();
      auto answer = stale->wait(id);
      std::cout << "frozen-leader-" << round
                << ": the old leader answered a read sent while frozen: "
                << (!answer.ok()           ? answer.error().message
                    : answer.value().error ? answer.value().error->message
                                           : std::string("a value"))
                << std::endl;
      if (answer.ok() && !answer.value().error) {
        auto decoded = protocol::decode_kv_response<storage::RangeResponse>(answer.value().result);
        REQUIRE(decoded.ok());
        REQUIRE(decoded.value().response.kvs.size() == 1);
        CHECK(decoded.value().response.kvs[0].value == fresh);
      } else {
        // Refused with etcd's answer: `leader changed` (its read barrier failed, or it
        // answered what waited before restarting in place over the writes it proposed
        // before the freeze, docs/CLUSTER.md "Leadership loss") or `not leader`. Never the
        // connection closed under the read, nor a deadline (a hang).
        REQUIRE(answer.ok());
        auto error = *answer.value().error;
        CAPTURE(error.code, error.message);
        CHECK(error.code == 14);
        CHECK(error.message.rfind("etcdserver: ", 0) == 0);
      }
    }
    finish_round(cluster, mu, load, round_name("frozen-leader", round));
    // The old leader, deposed with its writes in flight (there nearly always are some under
    // this load), restarted itself in place rather than exiting.
    std::cout << "frozen-leader-" << round << ": the old leader restarted in place "
              << count_of(cluster.log(*leader), "restarting in place") << " time(s) so far"
              << std::endl;
    CHECK(members_revived.load() == 0);
  }
}

TEST_CASE("revkvd faults: writes go on without a frozen follower and it catches up",
          "[cluster][process][faults]") {
  Cluster cluster(3);
  std::mutex mu;
  for (int round = 0; round < rounds(); ++round) {
    CAPTURE(round);
    auto leader = leader_among(cluster, mu, {}, 20s);
    REQUIRE(leader);
    HistoryWorkload load(cluster, mu, round_name("frozen-follower", round), 4, 2, 3, 1000ms);
    REQUIRE(load.wait_for_writes(50, 30s));
    {
      Frozen frozen(cluster, (*leader + 1) % cluster.size());
      REQUIRE(frozen.stopped());
      REQUIRE(load.wait_for_writes(100, 30s));
      // The leader did not change.
      auto still = leader_among(cluster, mu, {(*leader + 1) % cluster.size()}, 10s);
      REQUIRE(still);
      CHECK(*still == *leader);
    }
    finish_round(cluster, mu, load, round_name("frozen-follower", round));
  }
}

// Two members frozen, the third left without a majority: the old leader itself
// (`leader_left`) or one of its followers. Requests to it end with an error within a
// deadline; nothing is acknowledged until the majority is continued; nothing acknowledged
// before is lost.
void minority_rounds(bool leader_left) {
  const char* name = leader_left ? "minority-leader" : "minority-follower";
  Cluster cluster(3);
  std::mutex mu;
  for (int round = 0; round < rounds(); ++round) {
    CAPTURE(round);
    auto leader = leader_among(cluster, mu, {}, 20s);
    REQUIRE(leader);
    HistoryWorkload load(cluster, mu, round_name(name, round), 4, 2, 3, 1000ms);
    REQUIRE(load.wait_for_writes(50, 30s));
    const size_t left = leader_left ? *leader : (*leader + 1) % cluster.size();
    std::string endpoint, grpc_endpoint;
    {
      std::lock_guard lock(mu);
      endpoint = cluster.member(left).endpoint();
      grpc_endpoint = cluster.member(left).grpc_endpoint();
    }
    {
      Frozen one(cluster, (left + 1) % cluster.size());
      Frozen two(cluster, (left + 2) % cluster.size());
      REQUIRE(one.stopped());
      REQUIRE(two.stopped());
      // A write to it ends with etcd's answer well before the client's 30 s (a timeout
      // there would be a hang): the leader left alone steps down after an election timeout
      // without a quorum and answers its waiting writes `etcdserver: leader changed` before
      // it restarts in place (docs/CLUSTER.md "Leadership loss"); the follower refuses at
      // once. Never a connection closed under the write. On the leader, the same put sent
      // over gRPC meanwhile (etcdctl, when installed) gets an etcd error as well.
      const std::string probe_key = round_name(name, round) + "-probe";
      std::optional<testing::Run> over_grpc;
      std::thread etcdctl_put;
      if (auto bin = testing::find_etcdctl(); leader_left && !bin.empty()) {
        etcdctl_put = std::thread([&over_grpc, bin, grpc_endpoint, probe_key] {
          over_grpc = testing::etcdctl(bin, grpc_endpoint, "put " + probe_key + "-grpc never");
        });
      }
      auto c = client::Client::connect(endpoint, with_timeout(30000ms));
      REQUIRE(c.ok());
      storage::PutRequest p;
      p.key = probe_key;
      p.value = "never-acknowledged";
      auto put = c.value().put(p);
      if (etcdctl_put.joinable()) etcdctl_put.join();
      REQUIRE_FALSE(put.ok());
      std::cout << name << "-" << round
                << ": a put on the member left alone: " << put.error().message << std::endl;
      CAPTURE(put.error().code, put.error().message);
      CHECK(put.error().code == 14);
      CHECK(put.error().message.rfind("etcdserver: ", 0) == 0);
      if (over_grpc) {
        std::cout << name << "-" << round
                  << ": etcdctl put on the leader left alone: " << over_grpc->out << std::flush;
        CAPTURE(over_grpc->out);
        CHECK(over_grpc->status != 0);
        CHECK(over_grpc->out.find("Error: etcdserver: ") != std::string::npos);
      }
      // From then until the majority is continued no write is acknowledged: the member
      // left refuses (Unavailable) or is gone (docs/CLUSTER.md "Leadership loss"). A second
      // request to it must end with an error as well.
      const int64_t cut_off = testing::lin::monotonic_ns();
      {
        auto again = client::Client::connect(endpoint, with_timeout(30000ms));
        if (again.ok()) {
          storage::RangeRequest r;
          r.key = p.key;
          auto read = again.value().range(r);
          REQUIRE_FALSE(read.ok());
          if (read.error().code == 4) {
            // A hang: what the member did meanwhile is the diagnosis.
            std::lock_guard lock(mu);
            std::string log = cluster.log(left);
            std::cout << name << "-" << round << ": the read hung; the member's log ends:\n"
                      << log.substr(log.size() > 6000 ? log.size() - 6000 : 0) << std::endl;
          }
          CHECK(read.error().code != 4);
        }
      }
      const int64_t continued = testing::lin::monotonic_ns();
      for (const auto& op : load.recorder().history()) {
        bool acked_write = op.outcome == testing::lin::Outcome::ok &&
                           (op.kind == testing::lin::OpKind::put ||
                            (op.kind == testing::lin::OpKind::cas && op.succeeded));
        if (acked_write && op.invoke_ns > cut_off && op.complete_ns < continued)
          FAIL("acknowledged without a majority: " << testing::lin::describe(op));
      }
    }
    finish_round(cluster, mu, load, round_name(name, round));
  }
}

TEST_CASE("revkvd faults: a leader left without a majority stops writes cleanly and loses nothing",
          "[cluster][process][faults]") {
  minority_rounds(/*leader_left=*/true);
}

TEST_CASE("revkvd faults: a follower left without a majority refuses writes and loses nothing",
          "[cluster][process][faults]") {
  minority_rounds(/*leader_left=*/false);
}

TEST_CASE("revkvd faults: killing the leader under load keeps the history linearizable",
          "[cluster][process][faults]") {
  Cluster cluster(3);
  std::mutex mu;
  for (int round = 0; round < rounds(); ++round) {
    CAPTURE(round);
    auto leader = leader_among(cluster, mu, {}, 20s);
    REQUIRE(leader);
    HistoryWorkload load(cluster, mu, round_name("kill-leader", round), 4, 2, 3, 1000ms);
    REQUIRE(load.wait_for_writes(50, 30s));
    {
      std::lock_guard lock(mu);
      cluster.kill9(*leader);
    }
    auto next = leader_among(cluster, mu, {*leader}, 15s);
    REQUIRE(next);
    REQUIRE(load.wait_for_writes(50, 30s));
    {
      std::lock_guard lock(mu);
      cluster.start(*leader);
    }
    finish_round(cluster, mu, load, round_name("kill-leader", round));
  }
}

TEST_CASE("revkvd faults: a leader isolated by cut links is replaced and loses nothing",
          "[cluster][process][faults][proxy]") {
  ProxiedCluster net(3);
  Cluster& cluster = *net.cluster;
  std::mutex mu;
  for (int round = 0; round < rounds(); ++round) {
    CAPTURE(round);
    auto leader = leader_among(cluster, mu, {}, 20s);
    REQUIRE(leader);
    HistoryWorkload load(cluster, mu, round_name("isolated-leader", round), 4, 2, 3, 1000ms);
    REQUIRE(load.wait_for_writes(50, 30s));
    {
      Healed healed{net};
      const uint64_t refused_before = net.refused();
      net.isolate(*leader);
      // The rest elect a leader among themselves and take writes; the old one, still
      // reachable by its clients, steps down after an election timeout without a quorum
      // (with writes in flight it restarts itself in place: docs/CLUSTER.md "Leadership
      // loss").
      auto next = leader_among(cluster, mu, {*leader}, 15s);
      REQUIRE(next);
      CHECK(*next != *leader);
      REQUIRE(load.wait_for_writes(50, 30s));
      // The links were cut at the proxies, not somewhere else: connections over them are
      // refused (the members retry every 200 ms).
      CHECK(testing::eventually([&] { return net.refused() > refused_before; }));
    }
    finish_round(cluster, mu, load, round_name("isolated-leader", round));
    CHECK(members_revived.load() == 0);
  }
}

TEST_CASE("revkvd faults: writes go on without a follower isolated by cut links and it catches up",
          "[cluster][process][faults][proxy]") {
  ProxiedCluster net(3);
  Cluster& cluster = *net.cluster;
  std::mutex mu;
  for (int round = 0; round < rounds(); ++round) {
    CAPTURE(round);
    auto leader = leader_among(cluster, mu, {}, 20s);
    REQUIRE(leader);
    HistoryWorkload load(cluster, mu, round_name("isolated-follower", round), 4, 2, 3, 1000ms);
    REQUIRE(load.wait_for_writes(50, 30s));
    const size_t follower = (*leader + 1) % cluster.size();
    {
      Healed healed{net};
      const uint64_t refused_before = net.refused();
      net.isolate(follower);
      REQUIRE(load.wait_for_writes(100, 30s));
      // Cut off, the follower applied none of them (its clients' writes were forwarded to
      // the leader, which the cut does not stop: client traffic is not behind the proxies).
      {
        std::string endpoint;
        {
          std::lock_guard lock(mu);
          endpoint = cluster.member(follower).endpoint();
        }
        auto c = client::Client::connect(endpoint, with_timeout(5000ms));
        REQUIRE(c.ok());
        storage::RangeRequest r;
        r.key = "x";
        r.serializable = true;
        auto local = c.value().range(r);
        REQUIRE(local.ok());
        CHECK(local.value().response.revision < load.highest_revision());
        // So is a Txn of serializable Ranges only, as etcd serves it (isTxnSerializable).
        storage::TxnRequest t;
        t.success.push_back(storage::RequestOp{r});
        auto local_txn = c.value().txn(t);
        REQUIRE(local_txn.ok());
        // Answered by the follower, which applies nothing while cut off (forwarded, it would
        // be the leader's newer revision).
        CHECK(local_txn.value().response.revision == local.value().response.revision);
      }
      // The leader did not change, and the follower (pre-vote: it cannot win a vote, so it
      // never raises its term) did not depose it.
      auto still = leader_among(cluster, mu, {follower}, 10s);
      REQUIRE(still);
      CHECK(*still == *leader);
      CHECK(testing::eventually([&] { return net.refused() > refused_before; }));
    }
    finish_round(cluster, mu, load, round_name("isolated-follower", round));
    CHECK(members_revived.load() == 0);
  }
}
