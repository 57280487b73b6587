// The randomized differential test of the two doors: one seeded random sequence of etcd
// requests (tests/etcdapi/random_requests.hpp) sent to one node over MessagePack and to a
// twin node over gRPC; every answer must be the same — the response with its header
// revision and raft term, or the error as {gRPC code, exact message}. On the gRPC side
// the headers are also checked as etcd writes them: the node's cluster and member ids on
// the top-level header; in a Txn, each nested Range/Put/DeleteRange response has a header
// with only its revision and each nested Txn response an empty header (etcd's newTxnResp
// allocates one for it and only the outermost gets the revision; header.fill touches the
// top level only).
//
// CI runs a fixed set of seeds, a few hundred requests each. Long mode:
//   REVKV_TWO_DOORS_SEEDS=1,2,3   the seeds (default: the fixed set)
//   REVKV_TWO_DOORS_OPS=20000     requests per seed (default 300)

#include "client/client.hpp"
#include "tests/etcdapi/grpc_client.hpp"
#include "tests/etcdapi/random_requests.hpp"
#include "tests/etcdapi/two_doors.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace revkv {
namespace {

using testing::describe;
using testing::GrpcClient;
using testing::Outcome;
using testing::RandomRequests;
using testing::sorted_leases;
using testing::without_ttl;

// The MessagePack answer in the gRPC client's shape, and its header.
template <class T>
Outcome<T> kv_answer(const client::Result<protocol::KvResponse<T>>& r,
                     std::optional<protocol::ResponseHeader>& header) {
  header.reset();
  if (!r.ok()) return r.error();
  header = r.value().header;
  return r.value().response;
}
template <class T>
Outcome<T> answer(const client::Result<T>& r, std::optional<protocol::ResponseHeader>& header) {
  header.reset();
  if (!r.ok()) return r.error();
  header = r.value().header;
  return r.value();
}

// What etcd writes in the responses nested in a Txn (see the file comment); `revision`
// is the outermost Txn's.
void check_nested_headers(const etcdserverpb::TxnResponse& txn, int64_t txn_revision) {
  for (const auto& op : txn.responses()) {
    const etcdserverpb::ResponseHeader* h = nullptr;
    bool has = false;
    int64_t revision = 0;
    switch (op.response_case()) {
      case etcdserverpb::ResponseOp::kResponseRange:
        has = op.response_range().has_header();
        h = &op.response_range().header();
        revision = h->revision();
        break;
      case etcdserverpb::ResponseOp::kResponsePut:
        has = op.response_put().has_header();
        h = &op.response_put().header();
        revision = h->revision();
        break;
      case etcdserverpb::ResponseOp::kResponseDeleteRange:
        has = op.response_delete_range().has_header();
        h = &op.response_delete_range().header();
        revision = h->revision();
        break;
      case etcdserverpb::ResponseOp::kResponseTxn:
        has = op.response_txn().has_header();
        h = &op.response_txn().header();
        CHECK(h->revision() == 0);
        check_nested_headers(op.response_txn(), txn_revision);
        break;
      default:
        FAIL("a Txn response op with no response set");
    }
    CHECK(has);
    CHECK(h->cluster_id() == 0);
    CHECK(h->member_id() == 0);
    CHECK(h->raft_term() == 0);
    if (op.response_case() != etcdserverpb::ResponseOp::kResponseTxn) {
      CHECK(revision > 0);
      CHECK(revision <= txn_revision);
    }
  }
}

class Run {
 public:
  explicit Run(testing::TwoDoors<GrpcClient>& doors) : mp_(*doors.mp), g_(*doors.grpc) {
    client::ClientOptions o;
    o.request_timeout = std::chrono::milliseconds(10000);
    // The gRPC node's own ids, read over its MessagePack door.
    auto c = client::Client::connect(doors.grpc_node->endpoint(), o);
    REQUIRE(c.ok());
    auto s = c.value().status();
    REQUIRE(s.ok());
    grpc_ids_ = s.value().header;
  }

  int64_t current() const { return current_; }
  // How often each error was answered: what the sequence exercised.
  const std::map<std::string, int>& errors_seen() const { return errors_seen_; }

  // Compares one answer of each door, and for a response both headers.
  template <class T>
  void same(const char* what, const Outcome<T>& mp, const Outcome<T>& grpc) {
    INFO(what << ": msgpack " << describe(mp) << " / grpc " << describe(grpc));
    if (const auto* e = std::get_if<protocol::WireError>(&grpc)) ++errors_seen_[e->message];
    REQUIRE(mp == grpc);
    if (!std::holds_alternative<T>(grpc)) return;
    // Both headers: the same revision and term; the gRPC one carries its node's ids.
    REQUIRE(mp_header_);
    const auto& h = g_.last_header();
    CHECK(h.revision() == mp_header_->revision);
    CHECK(h.raft_term() == mp_header_->raft_term);
    CHECK(h.cluster_id() == grpc_ids_.cluster_id);
    CHECK(h.member_id() == grpc_ids_.member_id);
    current_ = std::max(current_, h.revision());
  }

  void step(RandomRequests& gen) {
    size_t kind = gen.pick(100);
    if (kind < 24) {
      auto r = gen.put();
      same("put", kv_answer(mp_.put(r), mp_header_), g_.put(r));
    } else if (kind < 36) {
      auto r = gen.del();
      same("delete", kv_answer(mp_.delete_range(r), mp_header_), g_.delete_range(r));
    } else if (kind < 60) {
      auto r = gen.range(current_);
      same("range", kv_answer(mp_.range(r), mp_header_), g_.range(r));
    } else if (kind < 86) {
      auto r = gen.txn(current_);
      auto mp = kv_answer(mp_.txn(r), mp_header_);
      auto grpc = g_.txn(r);
      same("txn", mp, grpc);
      if (std::holds_alternative<storage::TxnResponse>(grpc))
        check_nested_headers(g_.last_txn(), g_.last_txn().header().revision());
    } else if (kind < 87) {
      if (gen.chance(50)) {
        auto r = gen.too_many_ops(current_);
        same("refused txn", kv_answer(mp_.txn(r), mp_header_), g_.txn(r));
      } else {
        // A compare target etcd does not know: both doors evaluate it as etcd does (it
        // compares as equal, so this EQUAL compare holds).
        auto r = gen.unknown_compare_target(current_);
        same("unknown compare target", kv_answer(mp_.txn(r), mp_header_), g_.txn(r));
      }
    } else if (kind < 90) {
      // Mostly forward; sometimes compacted already or in the future.
      int64_t rev = static_cast<int64_t>(gen.pick(current_ + 3));
      bool physical = gen.chance(50);
      same("compact",
           kv_answer(mp_.compact(protocol::CompactionRequest{rev, physical}), mp_header_),
           g_.compact(rev, physical));
    } else if (kind < 94) {
      int64_t id = gen.lease_id();
      same("lease grant", answer(mp_.lease_grant({600, id}), mp_header_),
           without_header(g_.lease_grant(id, 600)));
    } else if (kind < 97) {
      int64_t id = gen.lease_id();
      same("lease revoke", answer(mp_.lease_revoke({id}), mp_header_),
           without_header(g_.lease_revoke(id)));
    } else if (kind < 99) {
      // The remaining TTL is the clock's: compare everything else.
      int64_t id = gen.lease_id();
      auto mp = answer(mp_.lease_time_to_live({id, true}), mp_header_);
      auto grpc = without_header(g_.lease_time_to_live(id, true));
      same("lease time to live", without_ttl(mp), without_ttl(grpc));
    } else if (gen.chance(50)) {
      same("lease leases", sorted_leases(answer(mp_.lease_leases(), mp_header_)),
           sorted_leases(without_header(g_.lease_leases())));
    } else {
      // The same history hashes the same: hash, compact and hash revision.
      int64_t rev = gen.chance(50) ? 0 : static_cast<int64_t>(gen.pick(current_ + 3));
      same("hash kv", answer(mp_.hash_kv({rev}), mp_header_), without_header(g_.hash_kv(rev)));
    }
  }

 private:
  // The protocol responses carry their header: compared in same(), set aside here.
  template <class T>
  static Outcome<T> without_header(Outcome<T> o) {
    if (auto* r = std::get_if<T>(&o)) r->header = {};
    return o;
  }
  template <class T>
  Outcome<T> answer(const client::Result<T>& r, std::optional<protocol::ResponseHeader>& h) {
    return without_header(revkv::answer(r, h));
  }

  client::Client& mp_;
  GrpcClient& g_;
  protocol::ResponseHeader grpc_ids_;
  std::optional<protocol::ResponseHeader> mp_header_;
  int64_t current_ = 1;
  std::map<std::string, int> errors_seen_;
};

TEST_CASE("two doors: a seeded random sequence gets the same answers over MessagePack and gRPC",
          "[etcdapi][node][differential]") {
  const int ops = testing::count_from("REVKV_TWO_DOORS_OPS", 300);
  const std::vector<std::string> shard_counts = {"1", "4", "7"};
  // Both engines of the gRPC port (revkvd --grpc-engine): revkv's HTTP/2 door, which
  // serves the KV and Lease calls and Watch streams itself and relays the rest, and gRPC's
  // own server for everything.
  const std::vector<std::string> engines = {"nghttp2", "grpc"};
  size_t n = 0;
  for (uint64_t seed : testing::seeds_from("REVKV_TWO_DOORS_SEEDS", {1, 7, 20261202, 42})) {
    const std::string& shards = shard_counts[n % shard_counts.size()];
    const std::string& engine = engines[n++ % engines.size()];
    DYNAMIC_SECTION("seed " << seed << ", " << shards << " shards, --grpc-engine " << engine) {
      testing::TwoDoors<GrpcClient> doors(shards, {"--grpc-engine", engine});
      Run run(doors);
      RandomRequests gen(seed);
      for (int i = 0; i < ops; ++i) {
        CAPTURE(seed, i, run.current());
        run.step(gen);
      }
      std::ostringstream tally;
      for (const auto& [message, n] : run.errors_seen())
        tally << "  " << n << " x " << message << "\n";
      std::cout << "seed " << seed << ": errors answered by both doors\n" << tally.str();
      CHECK(doors.msgpack_node->stop() == 0);
      CHECK(doors.grpc_node->stop() == 0);
    }
  }
}

}  // namespace
}  // namespace revkv
