#pragma once

// The checks at the end of a round of a recorded workload (history_workload.hpp) on a revkvd
// cluster (docs/CLUSTER.md "Fault tests"): one leader, every member converged at the same
// revision and hash, every acknowledged write on every member, the history linearizable.
// Shared by the fault tests and the membership-under-load tests. `gone`: members removed
// from the cluster (member remove), which are neither waited for nor checked.

#include "client/client.hpp"
#include "tests/cluster/history_workload.hpp"
#include "tests/cluster/revkvd_cluster.hpp"
#include "tests/linearizability/checker.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <iostream>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace revkv::testing {

inline client::ClientOptions with_timeout(std::chrono::milliseconds timeout) {
  client::ClientOptions options;
  options.connect_timeout = timeout;
  options.request_timeout = timeout;
  return options;
}

// A member among those not in `skip` that reports itself as leader, within `limit`.
inline std::optional<size_t> leader_among(Cluster& cluster, std::mutex& mu,
                                          const std::set<size_t>& skip,
                                          std::chrono::seconds limit) {
  std::optional<size_t> found;
  eventually(
      [&] {
        for (size_t i = 0; i < cluster.size(); ++i) {
          if (skip.count(i) != 0) continue;
          std::string endpoint;
          {
            std::lock_guard lock(mu);
            if (!cluster.running(i)) continue;
            endpoint = cluster.member(i).endpoint();
          }
          auto c = client::Client::connect(endpoint, with_timeout(std::chrono::milliseconds(1000)));
          if (!c.ok()) continue;
          auto s = c.value().status();
          if (s.ok() && s.value().leader != 0 && s.value().leader == s.value().header.member_id) {
            found = i;
            return true;
          }
        }
        return false;
      },
      limit);
  return found;
}

// Members that ended by themselves and were started again, over the whole run: none is
// expected (a leader that loses leadership with writes in flight restarts itself in place,
// same PID: docs/CLUSTER.md "Leadership loss"; exiting would mean that exec failed).
inline std::atomic<int> members_revived{0};

// Restarts every member (not in `gone`) whose process ended by itself, so that a failure is
// reported by the checks rather than as a cluster that never converges.
inline std::vector<size_t> revive_exited(Cluster& cluster, std::mutex& mu,
                                         const std::set<size_t>& gone = {}) {
  std::vector<size_t> revived;
  std::lock_guard lock(mu);
  for (size_t i = 0; i < cluster.size(); ++i) {
    if (!cluster.running(i) || gone.count(i) != 0) continue;
    const int status = cluster.member(i).wait_exit(std::chrono::milliseconds(0));
    if (status < 0) continue;
    // Not expected: say why, for the check that counts these.
    const std::string log = cluster.log(i);
    std::cout << "member " << i << " exited with status " << status << "; its log ends:\n"
              << log.substr(log.size() > 3000 ? log.size() - 3000 : 0) << std::endl;
    cluster.start(i);
    revived.push_back(i);
    members_revived.fetch_add(1);
  }
  return revived;
}

// Every member but the `gone` runs, agrees on one leader, has applied the same Raft index
// with the same Maintenance.Hash, and answers HashKV at `revision` alike; members that exit
// meanwhile are restarted. Whether that came within `limit`; when not, it prints what each
// member last answered and the end of each one's log.
inline bool converged(Cluster& cluster, std::mutex& mu, int64_t revision,
                      std::chrono::seconds limit, const std::set<size_t>& gone = {}) {
  std::string seen;  // what the last look found, member by member
  const bool ok = eventually(
      [&] {
        revive_exited(cluster, mu, gone);
        std::lock_guard lock(mu);
        seen.clear();
        std::optional<uint64_t> leader;
        std::optional<uint32_t> hash_kv;
        for (size_t i = 0; i < cluster.size(); ++i) {
          if (gone.count(i) != 0) continue;
          seen += "member " + std::to_string(i) + ": ";
          if (!cluster.running(i)) return seen += "not running\n", false;
          auto c = client::Client::connect(cluster.member(i).endpoint(),
                                           with_timeout(std::chrono::milliseconds(2000)));
          if (!c.ok()) return seen += "connect: " + c.error().message + "\n", false;
          auto s = c.value().status();
          if (!s.ok()) return seen += "status: " + s.error().message + "\n", false;
          seen += "leader " + std::to_string(s.value().leader) + " term " +
                  std::to_string(s.value().raft_term) + " index " +
                  std::to_string(s.value().raft_index) + " revision " +
                  std::to_string(s.value().header.revision);
          if (s.value().leader == 0) return seen += "\n", false;
          if (leader && *leader != s.value().leader) return seen += "\n", false;
          leader = s.value().leader;
          protocol::HashKVRequest h;
          h.revision = revision;
          auto hk = c.value().hash_kv(h);
          // Also: this member has not reached `revision` yet.
          if (!hk.ok()) return seen += "; HashKV: " + hk.error().message + "\n", false;
          seen += "; HashKV " + std::to_string(hk.value().hash) + "\n";
          if (hash_kv && *hash_kv != hk.value().hash) return false;
          hash_kv = hk.value().hash;
        }
        return same_hash(cluster, gone);
      },
      limit);
  if (!ok) {
    std::lock_guard lock(mu);
    std::cout << "not converged at revision " << revision << "; the last look:\n" << seen;
    for (size_t i = 0; i < cluster.size(); ++i) {
      if (gone.count(i) != 0 || !cluster.running(i)) continue;
      const std::string log = cluster.log(i);
      std::cout << "member " << i << "'s log ends:\n"
                << log.substr(log.size() > 4000 ? log.size() - 4000 : 0) << std::endl;
    }
  }
  return ok;
}

// Stops the clients, reads every key once more through the cluster (so a lost write shows
// as a stale final read) and checks the history.
inline void require_linearizable(HistoryWorkload& load, const std::string& what) {
  load.stop();
  for (const auto& key : load.keys())
    REQUIRE(load.final_read(key, 1000, std::chrono::seconds(30)));
  auto history = load.recorder().history();
  size_t ok = 0, failed = 0, unknown = 0;
  for (const auto& op : history) {
    ok += op.outcome == lin::Outcome::ok;
    failed += op.outcome == lin::Outcome::failed;
    unknown += op.outcome == lin::Outcome::unknown;
  }
  auto result = lin::check(history);
  // The numbers of each round (the long modes' results in docs/CLUSTER.md come from these).
  std::cout << "history " << what << ": " << history.size() << " operations (" << ok << " ok, "
            << failed << " refused, " << unknown << " unknown), " << load.acked_writes()
            << " acknowledged writes, " << lin::to_string(result.verdict) << " in " << result.steps
            << " steps" << std::endl;
  INFO(result.explanation);
  REQUIRE(result.verdict == lin::Verdict::linearizable);
}

// Every acknowledged write of the history is on every member but the `gone`: a read at its
// revision returns its value with that mod_revision (nothing is compacted in these tests).
inline void require_acknowledged_everywhere(Cluster& cluster, std::mutex& mu,
                                            const lin::History& history,
                                            const std::set<size_t>& gone = {}) {
  std::lock_guard lock(mu);
  for (size_t i = 0; i < cluster.size(); ++i) {
    if (gone.count(i) != 0) continue;
    CAPTURE(i);
    REQUIRE(cluster.running(i));
    auto c = client::Client::connect(cluster.member(i).endpoint(),
                                     with_timeout(std::chrono::milliseconds(5000)));
    REQUIRE(c.ok());
    for (const auto& op : history) {
      if (op.outcome != lin::Outcome::ok) continue;
      if (op.kind == lin::OpKind::get || (op.kind == lin::OpKind::cas && !op.succeeded)) continue;
      storage::RangeRequest r;
      r.key = op.key;
      r.revision = op.revision;
      r.serializable = true;
      auto got = c.value().range(r);
      INFO(lin::describe(op));
      REQUIRE(got.ok());
      REQUIRE(got.value().response.kvs.size() == 1);
      CHECK(got.value().response.kvs[0].value == op.value);
      CHECK(got.value().response.kvs[0].mod_revision == op.revision);
    }
  }
}

// The end of a round: the clients stop (what was acknowledged is now fixed), every member
// converges at the highest revision written, every acknowledged write is on every member and
// the history is linearizable.
inline void finish_round(Cluster& cluster, std::mutex& mu, HistoryWorkload& load,
                         const std::string& name, const std::set<size_t>& gone = {}) {
  load.stop();
  REQUIRE(converged(cluster, mu, load.highest_revision(), std::chrono::seconds(60), gone));
  require_acknowledged_everywhere(cluster, mu, load.recorder().history(), gone);
  require_linearizable(load, name);
}

}  // namespace revkv::testing
