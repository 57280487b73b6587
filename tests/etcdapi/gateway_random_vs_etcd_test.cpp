// The randomized differential test of the JSON gateway against the reference: the seeded
// random requests of the gRPC tests (tests/etcdapi/random_requests.hpp), written as JSON
// the ways clients write it (proto field names or lowerCamelCase, defaults left out or
// written, enums as names or numbers), POSTed to a fresh revkvd's gateway and to a fresh
// real etcd 3.4's; every answer must be the same bytes with the same HTTP status, once the
// cluster's ids and terms are set aside (tests/etcdapi/gateway_side_by_side.hpp) and a
// lease's remaining TTL (the clocks'). The decided differences with etcd 3.4 are handled
// as in random_vs_etcd_test.cpp (docs/NODE.md "How the gRPC door is held to etcd").
// Skipped where etcd is not installed.
//
// CI runs a fixed set of seeds, a few hundred requests each. Long mode:
//   REVKV_GATEWAY_VS_ETCD_SEEDS=1,2,3   the seeds (default: the fixed set)
//   REVKV_GATEWAY_VS_ETCD_OPS=20000     requests per seed (default 300)

#include "etcdapi/convert.hpp"
#include "tests/etcdapi/gateway_side_by_side.hpp"
#include "tests/etcdapi/http_conn.hpp"
#include "tests/etcdapi/random_requests.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <google/protobuf/util/json_util.h>
#include <iostream>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

namespace revkv {
namespace {

using testing::HttpAnswer;
using testing::HttpConn;
using testing::normalized;
using testing::RandomRequests;
using testing::SideBySide;

// etcd 3.4 checks a Txn's Puts before its Ranges (see random_vs_etcd_test.cpp): where revkv
// names a Range's error, 3.4 may name a Put's; exactly that pair is accepted.
bool check_order_difference(const HttpAnswer& ours, const HttpAnswer& theirs) {
  auto names = [](const HttpAnswer& a, std::initializer_list<const char*> messages) {
    for (const char* m : messages)
      if (a.body.find(std::string("\"error\":\"") + m + "\"") != std::string::npos) return true;
    return false;
  };
  return names(ours, {"etcdserver: mvcc: required revision has been compacted",
                      "etcdserver: mvcc: required revision is a future revision"}) &&
         names(theirs, {"etcdserver: key not found", "etcdserver: requested lease not found"});
}

// The header's revision of an answer, 0 when it has none.
int64_t header_revision(const std::string& body) {
  static const std::regex revision(R"re("header":\{[^}]*"revision":"(\d+)")re");
  std::smatch m;
  return std::regex_search(body, m, revision) ? std::stoll(m[1]) : 0;
}

class Run {
 public:
  Run(uint16_t revkvd_port, uint16_t etcd_port) : revkvd_(revkvd_port), etcd_(etcd_port) {}

  int64_t current() const { return current_; }
  const std::map<std::string, int>& statuses_seen() const { return statuses_seen_; }

  void step(RandomRequests& gen) {
    size_t kind = gen.pick(100);
    if (kind < 24) {
      etcdserverpb::PutRequest p;
      etcdapi::to_proto(gen.put(), p);
      post("/v3/kv/put", p, gen);
    } else if (kind < 36) {
      etcdserverpb::DeleteRangeRequest d;
      etcdapi::to_proto(gen.del(), d);
      post("/v3/kv/deleterange", d, gen);
    } else if (kind < 60) {
      etcdserverpb::RangeRequest r;
      etcdapi::to_proto(gen.range(current_), r);
      post("/v3/kv/range", r, gen);
    } else if (kind < 87) {
      auto t = kind < 86 ? gen.txn(current_)
                         : (gen.chance(50) ? gen.too_many_ops(current_)
                                           : gen.unknown_compare_target(current_));
      testing::with_explicit_delete_ends(t.success);
      testing::with_explicit_delete_ends(t.failure);
      etcdserverpb::TxnRequest txn;
      etcdapi::to_proto(t, txn);
      post("/v3/kv/txn", txn, gen);
    } else if (kind < 90) {
      etcdserverpb::CompactionRequest c;
      c.set_revision(static_cast<int64_t>(gen.pick(current_ + 3)));
      c.set_physical(gen.chance(50));
      post("/v3/kv/compaction", c, gen);
    } else if (kind < 94) {
      etcdserverpb::LeaseGrantRequest g;
      g.set_id(gen.lease_id());
      g.set_ttl(600);
      post("/v3/lease/grant", g, gen);
    } else if (kind < 97) {
      etcdserverpb::LeaseRevokeRequest r;
      r.set_id(gen.lease_id());
      // etcd 3.4 serves the revoke on both paths; the alias is the one etcd3gw uses.
      post(gen.chance(50) ? "/v3/lease/revoke" : "/v3/kv/lease/revoke", r, gen);
    } else if (kind < 99) {
      etcdserverpb::LeaseTimeToLiveRequest r;
      r.set_id(gen.lease_id());
      r.set_keys(gen.chance(50));
      post(gen.chance(50) ? "/v3/lease/timetolive" : "/v3/kv/lease/timetolive", r, gen);
    } else {
      // HashKV has no route on etcd 3.4's gateway (its HTTP annotation is Hash's path,
      // where Hash is served); the gRPC test compares it.
      post("/v3/lease/leases", etcdserverpb::LeaseLeasesRequest{}, gen);
    }
  }

 private:
  // Sends `request` to both as JSON written one of the ways clients write it; requires the
  // same answer.
  void post(const std::string& path, const google::protobuf::Message& request,
            RandomRequests& gen) {
    google::protobuf::util::JsonPrintOptions options;
    options.preserve_proto_field_names = gen.chance(70);
    options.always_print_primitive_fields = gen.chance(20);
    options.always_print_enums_as_ints = gen.chance(20);
    std::string body;
    REQUIRE(google::protobuf::util::MessageToJsonString(request, &body, options).ok());
    INFO("POST " << path << " " << body);
    auto theirs = etcd_.post(path, body);
    auto ours = revkvd_.post(path, body);
    REQUIRE(theirs.status != 0);
    ++statuses_seen_[path + " " + std::to_string(theirs.status)];
    if (path == "/v3/kv/txn" && check_order_difference(ours, theirs)) return;
    CHECK(ours.status == theirs.status);
    REQUIRE(comparable(path, ours.body) == comparable(path, theirs.body));
    if (theirs.status == 200) current_ = std::max(current_, header_revision(theirs.body));
  }

  // The answer without the cluster's ids and terms, a lease's remaining TTL, and the order
  // of a lease's keys and of the leases (etcd lists them from Go maps: any order).
  static std::string comparable(const std::string& path, const std::string& body) {
    auto out = normalized(body);
    if (path.ends_with("/timetolive")) {
      static const std::regex ttl(R"re("TTL":"\d+")re");
      out = std::regex_replace(out, ttl, R"("TTL":"N")");
    }
    return sorted_array(sorted_array(out, "keys"), "leases");
  }
  // The elements of the array `name` (none of them holding a comma) in sorted order.
  static std::string sorted_array(const std::string& json, const std::string& name) {
    const std::string open = "\"" + name + "\":[";
    const auto begin = json.find(open);
    if (begin == std::string::npos) return json;
    const auto first = begin + open.size();
    const auto end = json.find(']', first);
    if (end == std::string::npos) return json;
    std::vector<std::string> items;
    std::stringstream in(json.substr(first, end - first));
    std::string item;
    while (std::getline(in, item, ','))
      items.push_back(item);
    std::sort(items.begin(), items.end());
    std::string joined;
    for (const auto& i : items)
      joined += (joined.empty() ? "" : ",") + i;
    return json.substr(0, first) + joined + json.substr(end);
  }

  HttpConn revkvd_;
  HttpConn etcd_;
  int64_t current_ = 1;
  std::map<std::string, int> statuses_seen_;
};

TEST_CASE("gateway vs etcd 3.4: a seeded random sequence gets the same JSON answers",
          "[gateway][clients][differential]") {
  const int ops = testing::count_from("REVKV_GATEWAY_VS_ETCD_OPS", 300);
  const std::vector<std::string> shard_counts = {"7", "1", "4"};
  size_t n = 0;
  for (uint64_t seed : testing::seeds_from("REVKV_GATEWAY_VS_ETCD_SEEDS", {5, 20261206})) {
    const std::string& shards = shard_counts[n++ % shard_counts.size()];
    DYNAMIC_SECTION("seed " << seed << ", " << shards << " shards") {
      SideBySide s({"--shards", shards, "--sync", "never"});
      REQUIRE_ETCD(s);
      Run run(s.node->grpc_port(), s.etcd_port);
      RandomRequests gen(seed);
      for (int i = 0; i < ops; ++i) {
        CAPTURE(seed, i, run.current());
        run.step(gen);
      }
      std::ostringstream tally;
      for (const auto& [what, count] : run.statuses_seen())
        tally << "  " << count << " x " << what << "\n";
      std::cout << "seed " << seed << ": answers by path and status\n" << tally.str();
    }
  }
}

}  // namespace
}  // namespace revkv
