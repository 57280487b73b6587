#pragma once

// Clients that record a linearizability history against a revkvd cluster (docs/CLUSTER.md
// "Fault tests"): each sends linearizable gets, puts of unique values and CAS txns (a
// compare on the value or on mod_revision, then a put) on a few shared keys, one request at a
// time, with a per-request timeout. A roaming client moves to the next member after an error;
// a bound client stays with its member whatever it answers (once followers forward requests
// to the leader, the bound ones exercise forwarding). Every request is recorded with its
// outcome for tests/linearizability's checker.

#include "client/client.hpp"
#include "tests/cluster/revkvd_cluster.hpp"
#include "tests/linearizability/history.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace revkv::testing {

// Whether an error is the cluster gate's refusal, given before anything was evaluated
// (docs/CLUSTER.md "Followers, reads and errors"): the request definitely did not apply.
// Everything else (timeouts, a closed connection, `leader changed`) leaves the outcome open.
// A follower that cannot even connect to the leader it forwards to never sent the request
// (docs/CLUSTER.md "Forwarding"): that is a refusal too.
inline bool refused_before_evaluation(const protocol::WireError& e) {
  return e.code == 14 &&
         (e.message == "etcdserver: not leader" || e.message == "etcdserver: no leader" ||
          e.message.starts_with("revkv: cannot reach the leader "));
}

class HistoryWorkload {
 public:
  // `cluster_mu` guards the cluster's members (the test holds it to kill or restart one).
  // Clients 0 .. roaming-1 roam; the `bound` after them stay with member (id % size).
  HistoryWorkload(Cluster& cluster, std::mutex& cluster_mu, std::string prefix, int roaming,
                  int bound, int keys, std::chrono::milliseconds request_timeout)
      : cluster_(cluster),
        cluster_mu_(cluster_mu),
        prefix_(std::move(prefix)),
        keys_(keys),
        timeout_(request_timeout),
        last_seen_(static_cast<size_t>(roaming + bound)) {
    for (int c = 0; c < roaming + bound; ++c)
      threads_.emplace_back([this, c, roams = c < roaming] { run(c, roams); });
  }
  ~HistoryWorkload() { stop(); }
  HistoryWorkload(const HistoryWorkload&) = delete;
  HistoryWorkload& operator=(const HistoryWorkload&) = delete;

  void stop() {
    stop_ = true;
    for (auto& t : threads_)
      if (t.joinable()) t.join();
  }

  // Waits (deadline) until `more` writes beyond the count now were acknowledged.
  bool wait_for_writes(int64_t more, std::chrono::seconds limit) {
    std::unique_lock lock(mu_);
    int64_t target = acked_writes_ + more;
    return progress_.wait_for(lock, limit, [&] { return acked_writes_ >= target; });
  }
  int64_t acked_writes() const {
    std::lock_guard lock(mu_);
    return acked_writes_;
  }
  int64_t highest_revision() const {
    std::lock_guard lock(mu_);
    return highest_revision_;
  }

  std::vector<std::string> keys() const {
    std::vector<std::string> out;
    for (int k = 0; k < keys_; ++k)
      out.push_back(key(k));
    return out;
  }

  // A linearizable get of `key` recorded as client `client`, through any running member,
  // retried until answered (deadline): the final reads that catch a lost write.
  bool final_read(const std::string& key, int client, std::chrono::seconds limit) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    size_t at = 0;
    while (std::chrono::steady_clock::now() < deadline) {
      at = (at + 1) % members();
      auto c = connect(at);
      if (c) {
        lin::Operation op;
        op.client = client;
        op.kind = lin::OpKind::get;
        op.key = key;
        if (execute(*c, op)) return true;
      }
      poll_pause();
    }
    return false;
  }

  lin::Recorder& recorder() { return recorder_; }

 private:
  std::string key(int k) const { return prefix_ + "/k" + std::to_string(k); }

  // The cluster's member count, which grows when a test adds a member (reserve_member, under
  // the cluster's mutex) while the clients run.
  size_t members() const {
    std::lock_guard lock(cluster_mu_);
    return cluster_.size();
  }

  std::optional<client::Client> connect(size_t at) {
    std::string endpoint;
    {
      std::lock_guard lock(cluster_mu_);
      if (!cluster_.running(at)) return std::nullopt;
      endpoint = cluster_.member(at).endpoint();
    }
    client::ClientOptions options;
    options.connect_timeout = timeout_;
    options.request_timeout = timeout_;
    auto made = client::Client::connect(endpoint, options);
    if (!made.ok()) return std::nullopt;
    return std::move(made.value());
  }

  // Sends `op`, records it; whether it was answered (ok). A client that saw an error is
  // dropped by the caller (a transport failure breaks it; a refusal means another member).
  bool execute(client::Client& c, lin::Operation op) {
    size_t id = recorder_.begin(op);
    std::optional<protocol::WireError> error;
    lin::Operation result;
    switch (op.kind) {
      case lin::OpKind::get: {
        storage::RangeRequest r;
        r.key = op.key;
        auto got = c.range(r);
        if (!got.ok()) {
          error = got.error();
          break;
        }
        result.revision = got.value().response.revision;
        if (!got.value().response.kvs.empty()) {
          result.found = true;
          result.read_value = got.value().response.kvs[0].value;
          result.read_mod_revision = got.value().response.kvs[0].mod_revision;
        }
        break;
      }
      case lin::OpKind::put: {
        storage::PutRequest p;
        p.key = op.key;
        p.value = op.value;
        auto put = c.put(p);
        if (!put.ok()) {
          error = put.error();
          break;
        }
        result.revision = put.value().response.revision;
        break;
      }
      case lin::OpKind::cas: {
        storage::TxnRequest t;
        storage::Compare cmp;
        cmp.key = op.key;
        cmp.result = static_cast<int32_t>(storage::CompareResult::equal);
        if (op.cas_on == lin::CasOn::value) {
          cmp.target = static_cast<int32_t>(storage::CompareTarget::value);
          cmp.union_kind = storage::CompareTarget::value;
          cmp.value = op.expected_value;
        } else {
          cmp.target = static_cast<int32_t>(storage::CompareTarget::mod);
          cmp.union_kind = storage::CompareTarget::mod;
          cmp.number = op.expected_mod_revision;
        }
        t.compare.push_back(cmp);
        storage::PutRequest p;
        p.key = op.key;
        p.value = op.value;
        t.success.push_back(storage::RequestOp{p});
        auto txn = c.txn(t);
        if (!txn.ok()) {
          error = txn.error();
          break;
        }
        result.revision = txn.value().response.revision;
        result.succeeded = txn.value().response.succeeded;
        break;
      }
    }
    recorder_.end(id, [&](lin::Operation& recorded) {
      if (error) {
        recorded.outcome =
            refused_before_evaluation(*error) ? lin::Outcome::failed : lin::Outcome::unknown;
        return;
      }
      recorded.outcome = lin::Outcome::ok;
      recorded.revision = result.revision;
      recorded.succeeded = result.succeeded;
      recorded.found = result.found;
      recorded.read_value = result.read_value;
      recorded.read_mod_revision = result.read_mod_revision;
    });
    if (error) return false;
    if (op.kind == lin::OpKind::put || (op.kind == lin::OpKind::cas && result.succeeded)) {
      std::lock_guard lock(mu_);
      ++acked_writes_;
      highest_revision_ = std::max(highest_revision_, result.revision);
      progress_.notify_all();
    }
    if (op.client >= 0 && static_cast<size_t>(op.client) < last_seen_.size()) {
      auto& seen = last_seen_[static_cast<size_t>(op.client)];
      if (op.kind == lin::OpKind::cas && !result.succeeded)
        seen.erase(op.key);
      else
        seen[op.key] = op.kind == lin::OpKind::get
                           ? Seen{result.found, result.read_value, result.read_mod_revision}
                           : Seen{true, op.value, result.revision};
    }
    return true;
  }

  void run(int client, bool roams) {
    std::mt19937_64 rng(static_cast<uint64_t>(client) * 7919 + 1);
    size_t at = static_cast<size_t>(client) % members();
    std::optional<client::Client> c;
    size_t failures_in_a_row = 0;
    for (int64_t n = 0; !stop_.load(); ++n) {
      if (!c) {
        c = connect(at);
        if (!c) {
          failed_once(at, failures_in_a_row, roams);
          continue;
        }
      }
      lin::Operation op;
      op.client = client;
      op.key = key(static_cast<int>(rng() % static_cast<uint64_t>(keys_)));
      op.value = "c" + std::to_string(client) + "-" + std::to_string(n);
      auto dice = rng() % 100;
      op.kind = dice < 40 ? lin::OpKind::get : dice < 75 ? lin::OpKind::put : lin::OpKind::cas;
      if (op.kind == lin::OpKind::cas) {
        // Compare against what this client saw last of the key (often stale under
        // contention, so both outcomes occur); never seen: create if absent.
        auto& seen = last_seen_[static_cast<size_t>(client)];
        auto it = seen.find(op.key);
        if (it == seen.end() || !it->second.found) {
          op.cas_on = lin::CasOn::mod_revision;
          op.expected_mod_revision = 0;
        } else if (rng() % 2 == 0) {
          op.cas_on = lin::CasOn::value;
          op.expected_value = it->second.value;
        } else {
          op.cas_on = lin::CasOn::mod_revision;
          op.expected_mod_revision = it->second.mod_revision;
        }
      }
      if (!execute(*c, op)) {
        c.reset();
        failed_once(at, failures_in_a_row, roams);
      } else {
        failures_in_a_row = 0;
      }
    }
  }

  // After a failure a roaming client tries the next member; every client backs off after as
  // many failures in a row as there are members (no leader, everyone refusing or gone), as
  // etcd's clients do, so an election is not met with a busy loop of refusals. Rate limiting
  // only: nothing waits for this pause to make something happen.
  void failed_once(size_t& at, size_t& failures_in_a_row, bool roams) {
    const size_t size = members();
    if (roams) at = (at + 1) % size;
    if (++failures_in_a_row % size == 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }

  struct Seen {
    bool found = false;
    std::string value;
    int64_t mod_revision = 0;
  };

  Cluster& cluster_;
  std::mutex& cluster_mu_;
  const std::string prefix_;
  const int keys_;
  const std::chrono::milliseconds timeout_;
  lin::Recorder recorder_;
  mutable std::mutex mu_;
  std::condition_variable progress_;
  int64_t acked_writes_ = 0;
  int64_t highest_revision_ = 0;
  // What each workload client saw last of each key (touched by its own thread only).
  std::vector<std::map<std::string, Seen>> last_seen_;
  std::atomic<bool> stop_{false};
  std::vector<std::thread> threads_;
};

}  // namespace revkv::testing
