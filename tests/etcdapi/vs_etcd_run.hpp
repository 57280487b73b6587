#pragma once

// A seeded random sequence of etcd requests (tests/etcdapi/random_requests.hpp) sent over
// gRPC to revkvd and to a real etcd 3.4, every answer compared, with watchers on both
// meanwhile (docs/NODE.md "How the gRPC door is held to etcd"). The revkvd side is one node
// (tests/etcdapi/random_vs_etcd_test.cpp) or a cluster's members in turn
// (tests/cluster/random_cluster_vs_etcd_test.cpp).

#include "storage/txn_rules.hpp"
#include "tests/etcdapi/grpc_client.hpp"
#include "tests/etcdapi/random_requests.hpp"
#include "tests/etcdapi/two_doors.hpp"
#include "tests/node/watch_clients.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <initializer_list>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace revkv::testing::vs_etcd {

// Which revkvd client answers each request of a run.
class RevkvdSide {
 public:
  virtual ~RevkvdSide() = default;
  // The client for the next request. `local`: a request a cluster member serves from its own
  // applied state (a serializable range, HashKV), which may lag the leader.
  virtual GrpcClient& next(bool local) = 0;
  // The endpoint of the watchers' stream; before_watch_request() runs before each request
  // on it.
  virtual std::string watch_endpoint() = 0;
  virtual void before_watch_request() {}
};

// One revkvd: every request to it.
class OneNode final : public RevkvdSide {
 public:
  explicit OneNode(const std::string& endpoint) : endpoint_(endpoint), client_(endpoint) {}
  GrpcClient& next(bool) override { return client_; }
  std::string watch_endpoint() override { return endpoint_; }

 private:
  std::string endpoint_;
  GrpcClient client_;
};

// A Txn response as written, without what differs between any two clusters.
inline std::string comparable(etcdserverpb::TxnResponse txn) {
  txn.mutable_header()->clear_cluster_id();
  txn.mutable_header()->clear_member_id();
  txn.mutable_header()->clear_raft_term();
  return txn.DebugString();
}

// A request as etcd's protobuf text, for the failure report.
template <class Proto, class Request>
inline std::string text_of(const Request& r) {
  Proto p;
  etcdapi::to_proto(r, p);
  return p.ShortDebugString();
}

// A version difference (SPEC §3.6.4 follows etcd 3.5/3.6): on a Txn's taken path etcd 3.4
// checks every Put before any Range, later versions check the ops in order. So where a
// Range fails before a failing Put, 3.4 names the Put's error and revkv the Range's.
// Exactly that pair is accepted; any other difference fails.
inline bool check_order_difference(const protocol::WireError& ours,
                                   const protocol::WireError& theirs) {
  auto is = [](const protocol::WireError& e, std::initializer_list<storage::Errc> any) {
    for (auto errc : any) {
      const auto wire = protocol::to_wire_error(errc);
      if (e.code == wire.code && e.message == wire.message) return true;
    }
    return false;
  };
  using storage::Errc;
  return is(ours, {Errc::compacted, Errc::future_revision}) &&
         is(theirs, {Errc::key_not_found, Errc::lease_not_found});
}

// One event or cancel of a watcher as a line of text, for comparing two servers' streams
// (their batching into responses may differ; the events and their order may not).
inline std::string line_of(const storage::KeyValue& kv) {
  return "key=" + kv.key + " create=" + std::to_string(kv.create_revision) +
         " mod=" + std::to_string(kv.mod_revision) + " version=" + std::to_string(kv.version) +
         " lease=" + std::to_string(kv.lease) + " value=" + kv.value;
}

// The same watchers on both servers, one gRPC Watch stream each, and what each watcher got.
class Watchers {
 public:
  Watchers(RevkvdSide& revkvd, const std::string& theirs)
      : revkvd_(revkvd), ours_(revkvd.watch_endpoint()), theirs_(theirs) {
    ours_.set_handler([this](protocol::WatchResponse r) { log(ours_log_, r); });
    theirs_.set_handler([this](protocol::WatchResponse r) { log(theirs_log_, r); });
  }

  // A watcher of a random range (never the empty key), filters and prev_kv, from
  // `start_revision`, created on both; the two answers must agree.
  void create(RandomRequests& gen, int64_t start_revision) {
    protocol::WatchCreateRequest c;
    do {
      c.key = gen.key();
    } while (c.key.empty());
    if (gen.chance(60)) c.range_end = gen.end();
    c.start_revision = start_revision;
    // At most one filter: a watcher that sees no event could not tell barrier() it has
    // caught up.
    if (gen.chance(25)) {
      c.filters.push_back(protocol::WatchFilter::noput);
    } else if (gen.chance(33)) {
      c.filters.push_back(protocol::WatchFilter::nodelete);
    }
    c.prev_kv = gen.chance(50);
    INFO("watch create: key " << c.key << " end " << c.range_end.value_or("-") << " start "
                              << start_revision << " filters " << c.filters.size() << " prev_kv "
                              << c.prev_kv);
    revkvd_.before_watch_request();
    auto ours = ours_.watch(protocol::WatchRequest{c});
    auto theirs = theirs_.watch(protocol::WatchRequest{c});
    REQUIRE(theirs.ok());
    REQUIRE(ours.ok());
    const auto& a = ours.value();
    const auto& b = theirs.value();
    CHECK(a.watch_id == b.watch_id);
    CHECK(a.created == b.created);
    CHECK(a.canceled == b.canceled);
    CHECK(a.compact_revision == b.compact_revision);
    CHECK(a.cancel_reason == b.cancel_reason);
    CHECK(a.header.revision == b.header.revision);
    REQUIRE(b.created);
    // A range that selects no key (end at or before key) is refused in the answer itself,
    // with watch_id -1.
    if (b.canceled) return;
    created_[b.watch_id] = c;
  }

  // Makes every watcher's last event known and waits (deadline 60 s) until each has it, or
  // its cancel, on both streams: one Txn puts every watcher's key (revision R), the next
  // deletes them (R + 1); a watcher sees R, R + 1 or both. So every watcher has caught up on
  // both servers before the sequence goes on. etcd catches a watcher from a past revision
  // up (or cancels it, when it starts below the compaction) on its next sync, up to 100 ms
  // later, and revkv at once: a compaction in between would cancel it on etcd only.
  void barrier(GrpcClient& theirs) {
    std::set<std::string> keys;
    for (const auto& [id, c] : created_)
      keys.insert(c.key);
    storage::TxnRequest put_all;
    storage::TxnRequest delete_all;
    for (const auto& k : keys) {
      storage::PutRequest p;
      p.key = k;
      p.value = "last";
      put_all.success.push_back(storage::RequestOp{p});
      storage::DeleteRangeRequest d;
      d.key = k;
      delete_all.success.push_back(storage::RequestOp{d});
    }
    auto& ours = revkvd_.next(false);
    REQUIRE(std::holds_alternative<storage::TxnResponse>(theirs.txn(put_all)));
    REQUIRE(std::holds_alternative<storage::TxnResponse>(ours.txn(put_all)));
    const int64_t put_revision = theirs.last_header().revision();
    REQUIRE(ours.last_header().revision() == put_revision);
    REQUIRE(std::holds_alternative<storage::TxnResponse>(theirs.txn(delete_all)));
    REQUIRE(std::holds_alternative<storage::TxnResponse>(ours.txn(delete_all)));
    last_revision_ = put_revision + 1;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (!(complete(ours_log_) && complete(theirs_log_)) &&
           std::chrono::steady_clock::now() < deadline) {
      REQUIRE(ours_.pump_for(std::chrono::milliseconds(20)).ok());
      REQUIRE(theirs_.pump_for(std::chrono::milliseconds(20)).ok());
    }
    REQUIRE(complete(theirs_log_));
    REQUIRE(complete(ours_log_));
  }

  // After a barrier(): the same lines for each watcher on both streams.
  void compare() {
    REQUIRE_FALSE(created_.empty());
    size_t events = 0;
    for (const auto& [id, c] : created_) {
      INFO("watcher " << id << ": key " << c.key << " end " << c.range_end.value_or("-")
                      << " start " << c.start_revision);
      CHECK(ours_log_[id].lines == theirs_log_[id].lines);
      events += theirs_log_[id].lines.size();
    }
    CHECK(events > 0);
    std::cout << created_.size() << " watchers, " << events << " events and cancels compared\n";
  }

 private:
  struct Log {
    std::vector<std::string> lines;
    int64_t last_revision = 0;
    bool canceled = false;
  };

  static void log(std::map<int64_t, Log>& logs, const protocol::WatchResponse& r) {
    auto& l = logs[r.watch_id];
    if (r.compact_revision != 0 || r.canceled) {
      l.lines.push_back("canceled compact_revision=" + std::to_string(r.compact_revision) +
                        " reason=" + r.cancel_reason);
      l.canceled = true;
    }
    for (const auto& e : r.events) {
      std::string line = (e.type == storage::Event::Type::put ? "PUT " : "DELETE ") + line_of(e.kv);
      if (e.prev_kv) line += " prev: " + line_of(*e.prev_kv);
      l.lines.push_back(std::move(line));
      l.last_revision = std::max(l.last_revision, e.kv.mod_revision);
    }
  }

  // Whether every watcher has what barrier() wrote last for it (or was canceled).
  bool complete(std::map<int64_t, Log>& logs) const {
    for (const auto& [id, c] : created_) {
      const bool deletes = std::find(c.filters.begin(), c.filters.end(),
                                     protocol::WatchFilter::nodelete) == c.filters.end();
      const auto& l = logs[id];
      if (l.canceled) continue;
      if (l.last_revision < (deletes ? last_revision_ : last_revision_ - 1)) return false;
    }
    return true;
  }

  RevkvdSide& revkvd_;
  GrpcWatchStream ours_;
  GrpcWatchStream theirs_;
  std::map<int64_t, protocol::WatchCreateRequest> created_;
  std::map<int64_t, Log> ours_log_;
  std::map<int64_t, Log> theirs_log_;
  int64_t last_revision_ = 0;
};

class Run {
 public:
  Run(RevkvdSide& revkvd, GrpcClient& etcd) : revkvd_(revkvd), etcd_(etcd) {}

  int64_t current() const { return current_; }
  const std::map<std::string, int>& errors_seen() const { return errors_seen_; }

  // `answered`: the client that brought revkvd's answer.
  template <class T>
  void same(const char* what, const Outcome<T>& revkvd, const Outcome<T>& etcd,
            GrpcClient& answered) {
    INFO(what << ": revkvd " << describe(revkvd) << " / etcd " << describe(etcd));
    if (const auto* e = std::get_if<protocol::WireError>(&etcd)) ++errors_seen_[e->message];
    REQUIRE(revkvd == etcd);
    if (!std::holds_alternative<T>(etcd)) return;
    const auto& ours = answered.last_header();
    const auto& theirs = etcd_.last_header();
    CHECK(ours.revision() == theirs.revision());
    CHECK(ours.cluster_id() != 0);
    CHECK(ours.member_id() != 0);
    CHECK(ours.raft_term() != 0);
    current_ = std::max(current_, theirs.revision());
  }

  void step(RandomRequests& gen) {
    size_t kind = gen.pick(100);
    if (kind < 24) {
      auto r = gen.put();
      INFO("request: " << text_of<etcdserverpb::PutRequest>(r));
      auto& c = revkvd_.next(false);
      same("put", c.put(r), etcd_.put(r), c);
    } else if (kind < 36) {
      auto r = gen.del();
      INFO("request: " << text_of<etcdserverpb::DeleteRangeRequest>(r));
      auto& c = revkvd_.next(false);
      same("delete", c.delete_range(r), etcd_.delete_range(r), c);
    } else if (kind < 60) {
      auto r = gen.range(current_);
      INFO("request: " << text_of<etcdserverpb::RangeRequest>(r));
      auto& c = revkvd_.next(r.serializable);
      same("range", c.range(r), etcd_.range(r), c);
    } else if (kind < 86) {
      auto r = gen.txn(current_);
      with_explicit_delete_ends(r.success);
      with_explicit_delete_ends(r.failure);
      INFO("request: " << text_of<etcdserverpb::TxnRequest>(r));
      // A Txn of serializable Ranges only is served by a member from its own store, as etcd
      // serves it (isTxnSerializable).
      auto& c = revkvd_.next(storage::is_serializable_read_txn(r));
      auto ours = c.txn(r);
      auto theirs = etcd_.txn(r);
      const auto* our_error = std::get_if<protocol::WireError>(&ours);
      const auto* their_error = std::get_if<protocol::WireError>(&theirs);
      if (our_error && their_error && check_order_difference(*our_error, *their_error)) {
        ++errors_seen_["(3.4 checks puts first) " + their_error->message];
        return;
      }
      same("txn", ours, theirs, c);
      if (std::holds_alternative<storage::TxnResponse>(theirs))
        REQUIRE(comparable(c.last_txn()) == comparable(etcd_.last_txn()));
    } else if (kind < 87) {
      auto r = gen.chance(50) ? gen.too_many_ops(current_) : gen.unknown_compare_target(current_);
      auto& c = revkvd_.next(false);
      same("txn at the edge", c.txn(r), etcd_.txn(r), c);
    } else if (kind < 90) {
      // Mostly forward; sometimes compacted already or in the future.
      int64_t rev = static_cast<int64_t>(gen.pick(current_ + 3));
      bool physical = gen.chance(50);
      auto theirs = etcd_.compact(rev, physical);
      auto& c = revkvd_.next(false);
      same("compact", c.compact(rev, physical), theirs, c);
      if (std::holds_alternative<storage::CompactResponse>(theirs)) compacted_at_.insert(rev);
    } else if (kind < 94) {
      int64_t id = gen.lease_id();
      auto& c = revkvd_.next(false);
      same("lease grant", without_header(c.lease_grant(id, 600)),
           without_header(etcd_.lease_grant(id, 600)), c);
    } else if (kind < 97) {
      int64_t id = gen.lease_id();
      auto& c = revkvd_.next(false);
      same("lease revoke", without_header(c.lease_revoke(id)),
           without_header(etcd_.lease_revoke(id)), c);
    } else if (kind < 99) {
      int64_t id = gen.lease_id();
      auto& c = revkvd_.next(false);
      same("lease time to live", without_ttl(without_header(c.lease_time_to_live(id, true))),
           without_ttl(without_header(etcd_.lease_time_to_live(id, true))), c);
    } else if (gen.chance(50)) {
      auto& c = revkvd_.next(false);
      same("lease leases", sorted_leases(without_header(c.lease_leases())),
           sorted_leases(without_header(etcd_.lease_leases())), c);
    } else {
      // The same history hashes the same. Set aside: etcd 3.4 has no hash_revision field,
      // and keeps no compaction hashes, which later versions answer for a revision that was
      // compacted at (SPEC §9, rule 1). When no key is live at the revision hashed, the
      // hash covers every record at or below the compaction revision that the compactor
      // has not removed yet (SPEC §9): it depends on each server's progress (and on a
      // cluster member's own, which a client cannot see), so it is not compared.
      int64_t rev = gen.chance(50) ? 0 : static_cast<int64_t>(gen.pick(current_ + 3));
      if (compacted_at_.contains(rev)) return;
      if (live_keys_at(rev) == 0) return;
      auto& c = revkvd_.next(true);
      same("hash kv", without_hash_revision(without_header(c.hash_kv(rev))),
           without_header(etcd_.hash_kv(rev)), c);
    }
  }

 private:
  // The protocol responses carry their header: its revision is compared in same(), the
  // ids and term differ between the two servers.
  template <class T>
  static Outcome<T> without_header(Outcome<T> o) {
    if (auto* r = std::get_if<T>(&o)) r->header = {};
    return o;
  }
  // Keys live at `revision` (0: the newest) by etcd's count, or -1 when it refuses.
  int64_t live_keys_at(int64_t revision) {
    storage::RangeRequest all;
    all.key = std::string(1, '\0');
    all.range_end = std::string(1, '\0');
    all.revision = revision;
    all.count_only = true;
    auto r = etcd_.range(all);
    const auto* counted = std::get_if<storage::RangeResponse>(&r);
    return counted ? counted->count : -1;
  }
  static Outcome<protocol::HashKVResponse> without_hash_revision(
      Outcome<protocol::HashKVResponse> o) {
    if (auto* r = std::get_if<protocol::HashKVResponse>(&o)) r->hash_revision = 0;
    return o;
  }

  RevkvdSide& revkvd_;
  GrpcClient& etcd_;
  int64_t current_ = 1;
  std::set<int64_t> compacted_at_;
  std::map<std::string, int> errors_seen_;
};

// One seeded sequence of `ops` requests to `revkvd` and to the etcd at `etcd_endpoint`, with
// watchers from the start and from halfway, then every watcher's events compared; prints
// the errors both answered.
inline void run_sequence(uint64_t seed, int ops, RevkvdSide& revkvd,
                         const std::string& etcd_endpoint) {
  GrpcClient theirs(etcd_endpoint);
  Run run(revkvd, theirs);
  RandomRequests gen(seed);
  // Watchers from the start, and halfway through from a random revision (compacted, past,
  // the next or a future one) that the stream replays from.
  Watchers watchers(revkvd, etcd_endpoint);
  for (int w = 0; w < 4; ++w)
    watchers.create(gen, 0);
  for (int i = 0; i < ops; ++i) {
    CAPTURE(seed, i, run.current());
    if (i == ops / 2) {
      // A negative start is a version difference: 3.5+ (and revkv, SPEC §7.2) refuse it in
      // the create answer, 3.4 creates the watcher. Those start at 1 instead.
      for (int w = 0; w < 4; ++w)
        watchers.create(gen, std::max<int64_t>(1, gen.revision(run.current())));
      watchers.barrier(theirs);
    }
    run.step(gen);
  }
  watchers.barrier(theirs);
  watchers.compare();
  std::ostringstream tally;
  for (const auto& [message, count] : run.errors_seen())
    tally << "  " << count << " x " << message << "\n";
  std::cout << "seed " << seed << ": errors answered by both servers\n" << tally.str();
}

}  // namespace revkv::testing::vs_etcd
