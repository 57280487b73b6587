#include "apps/revkvctl/output.hpp"

#include "apps/revkvctl/endpoint_output.hpp"
#include "apps/revkvctl/json.hpp"

#include <catch2/catch.hpp>

using namespace revkv;
using namespace revkv::ctl;

namespace {

const protocol::ResponseHeader kHeader{14841639068965178418u, 10276657743932975437u, 5, 2};

storage::KeyValue kv(std::string key, std::string value) {
  return storage::KeyValue{std::move(key), 2, 5, 3, std::move(value), 0};
}

}  // namespace

TEST_CASE("base64 and JSON strings") {
  CHECK(base64("") == "");
  CHECK(base64("f") == "Zg==");
  CHECK(base64("fo") == "Zm8=");
  CHECK(base64("foo") == "Zm9v");
  CHECK(base64("foobar") == "Zm9vYmFy");
  CHECK(json_string("a\"b\\\n\x01") == "\"a\\\"b\\\\\\n\\u0001\"");
}

TEST_CASE("put output") {
  Kv<storage::PutResponse> r{kHeader, {5, std::nullopt}};
  CHECK(format_put(r, Format::simple) == "OK\n");
  r.response.prev_kv = kv("foo", "old");
  CHECK(format_put(r, Format::simple) == "OK\nfoo\nold\n");
  CHECK(format_put(r, Format::json) ==
        "{\"header\":{\"cluster_id\":14841639068965178418,\"member_id\":10276657743932975437,"
        "\"revision\":5,\"raft_term\":2},\"prev_kv\":{\"key\":\"Zm9v\",\"create_revision\":2,"
        "\"mod_revision\":5,\"version\":3,\"value\":\"b2xk\"}}\n");
}

TEST_CASE("get output") {
  Kv<storage::RangeResponse> r{kHeader, {5, {kv("a", "1"), kv("b", "2")}, false, 2}};
  CHECK(format_get(r, Format::simple) == "a\n1\nb\n2\n");
  CHECK(format_get(r, Format::simple, true) == "1\n2\n");
  CHECK(format_get(r, Format::simple, false, true) == "2\n");
  // --keys-only: etcdctl still prints the (empty) value line.
  Kv<storage::RangeResponse> keys{kHeader, {5, {kv("a", "")}, false, 1}};
  CHECK(format_get(keys, Format::simple) == "a\n\n");
  Kv<storage::RangeResponse> none{kHeader, {5, {}, false, 0}};
  CHECK(format_get(none, Format::simple).empty());
  CHECK(format_get(none, Format::json) ==
        "{\"header\":{\"cluster_id\":14841639068965178418,\"member_id\":10276657743932975437,"
        "\"revision\":5,\"raft_term\":2}}\n");
  CHECK(format_get(r, Format::json).find("\"kvs\":[{\"key\":\"YQ==\"") != std::string::npos);
  CHECK(format_get(r, Format::json).find(",\"count\":2}") != std::string::npos);
}

TEST_CASE("del, compact and txn output") {
  Kv<storage::DeleteRangeResponse> d{kHeader, {5, 1, {kv("a", "1")}}};
  CHECK(format_del(d, Format::simple) == "1\na\n1\n");
  Kv<storage::CompactResponse> c{kHeader, {9}};
  CHECK(format_compact(5, c, Format::simple) == "compacted revision 5\n");

  storage::TxnResponse t;
  t.revision = 5;
  t.succeeded = true;
  t.responses.push_back(storage::ResponseOp{storage::PutResponse{5, std::nullopt}});
  t.responses.push_back(storage::ResponseOp{storage::RangeResponse{5, {kv("k", "v")}, false, 1}});
  t.responses.push_back(storage::ResponseOp{storage::DeleteRangeResponse{5, 0, {}}});
  Kv<storage::TxnResponse> tr{kHeader, t};
  CHECK(format_txn(tr, Format::simple) == "SUCCESS\n\nOK\n\nk\nv\n\n0\n");
  auto json = format_txn(tr, Format::json);
  CHECK(json.find("\"succeeded\":true") != std::string::npos);
  CHECK(json.find("{\"Response\":{\"ResponsePut\":{\"header\":") != std::string::npos);
  tr.response.succeeded = false;
  tr.response.responses.clear();
  CHECK(format_txn(tr, Format::simple) == "FAILURE\n");
}

TEST_CASE("maintenance output") {
  protocol::StatusResponse s;
  s.header = kHeader;
  s.version = "0.1.0";
  s.db_size = 20480;
  s.db_size_in_use = 16384;
  s.leader = kHeader.member_id;
  s.raft_index = 9;
  s.raft_term = 2;
  s.shards = 2;
  CHECK(format_endpoint_status({{"127.0.0.1:7379", s}}, Format::simple) ==
        "127.0.0.1:7379, 8e9e05c52164694d, 0.1.0, 20 kB, true, false, 2, 9, 9, \n");
  CHECK(format_endpoint_status({{"e", s}}, Format::json)
            .rfind("[{\"Endpoint\":\"e\",\"Status\":{", 0) == 0);
  CHECK(format_defrag("e:1", Format::simple) == "Finished defragmenting etcd member[e:1]\n");
  protocol::HashKVResponse h{kHeader, 2064120424u, 3, 5};
  CHECK(format_endpoint_hashkv({{"e:1", h}}, Format::simple) == "e:1, 2064120424\n");
  protocol::AlarmResponse a{kHeader, {{7, protocol::AlarmType::nospace}}};
  // Go's %+v of the proto message ends with a space.
  CHECK(format_alarms(a, Format::simple) == "memberID:7 alarm:NOSPACE \n");
  CHECK(human_bytes(5) == "5 B");
  CHECK(human_bytes(1500000) == "1.5 MB");
}

TEST_CASE("lease output") {
  CHECK(lease_hex(0x694d77aa9e38260f) == "694d77aa9e38260f");
  CHECK(format_lease_grant({kHeader, 0x1f, 60}, Format::simple) ==
        "lease 000000000000001f granted with TTL(60s)\n");
  CHECK(format_lease_grant({kHeader, 31, 60}, Format::json)
            .find("\"ID\":31,\"TTL\":60,\"Error\":\"\"}") != std::string::npos);
  CHECK(format_lease_revoke(31, {kHeader}, Format::simple) == "lease 000000000000001f revoked\n");
  CHECK(format_keep_alive({kHeader, 31, 60}, Format::simple) ==
        "lease 000000000000001f keepalived with TTL(60)\n");
  CHECK(format_time_to_live({kHeader, 31, 50, 60, {"a", "b"}}, true, Format::simple) ==
        "lease 000000000000001f granted with TTL(60s), remaining(50s), attached keys([a b])\n");
  CHECK(format_time_to_live({kHeader, 31, -1, 0, {}}, false, Format::simple) ==
        "lease 000000000000001f already expired\n");
  CHECK(format_leases({kHeader, {{1}, {2}}}, Format::simple) ==
        "found 2 leases\n0000000000000001\n0000000000000002\n");
}

TEST_CASE("watch output") {
  protocol::WatchResponse w;
  w.header = kHeader;
  w.events.push_back({storage::Event::Type::put, kv("k", "v"), kv("k", "old")});
  w.events.push_back({storage::Event::Type::del, storage::KeyValue{"k", 0, 6, 0, "", 0}, {}});
  CHECK(format_watch(w, Format::simple) == "PUT\nk\nold\nk\nv\nDELETE\nk\n\n");
  CHECK(format_watch(w, Format::json).find("\"Events\":[{\"kv\":") != std::string::npos);
}
