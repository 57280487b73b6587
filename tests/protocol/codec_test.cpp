#include "protocol/codec.hpp"

#include "protocol/cluster_method.hpp"
#include "protocol/method.hpp"
#include "tests/protocol/test_util.hpp"

#include <catch2/catch.hpp>

#include <limits>
#include <string>

namespace revkv::protocol {
namespace {

using namespace revkv::protocol::test;  // NOLINT: test file
using storage::Box;

template <class T>
T round_trip(const T& value) {
  auto d = decode_bytes<T>(encode_to_string(value));
  INFO((d.ok() ? std::string() : d.error().message));
  REQUIRE(d.ok());
  return d.value();
}

template <class T>
KvResponse<T> kv_round_trip(const ResponseHeader& node, const T& response) {
  auto oh = unpack(encode_kv_to_string(node, response));
  auto d = decode_kv_response<T>(oh.get());
  INFO((d.ok() ? std::string() : d.error().message));
  REQUIRE(d.ok());
  return d.value();
}

storage::RangeRequest full_range() {
  storage::RangeRequest r;
  r.key = std::string("a\0\xff", 3);
  r.range_end = "z";
  r.limit = 10;
  r.revision = 7;
  r.sort_order = 2;
  r.sort_target = 3;
  r.serializable = true;
  r.keys_only = true;
  r.count_only = true;
  r.min_mod_revision = 1;
  r.max_mod_revision = 2;
  r.min_create_revision = 3;
  r.max_create_revision = -4;
  return r;
}

storage::KeyValue kv(std::string key, int64_t rev) {
  return storage::KeyValue{std::move(key), rev, rev + 1, 2, "v-" + std::to_string(rev), 9};
}

storage::TxnRequest nested_txn(int depth) {
  storage::TxnRequest t;
  t.compare.push_back(storage::Compare{0, 0, "k", std::nullopt, storage::CompareTarget::version,
                                       static_cast<int64_t>(depth), ""});
  t.success.push_back(storage::RequestOp{storage::PutRequest{"k", "v", 0, false, false, false}});
  if (depth > 0)
    t.failure.push_back(storage::RequestOp{Box<storage::TxnRequest>(nested_txn(depth - 1))});
  return t;
}

// A Txn body nested `depth` request_txn levels deep, written by hand.
Raw txn_bomb(int depth) {
  Raw inner = map("success", array(map("request_range", map("key", "k"))));
  for (int i = 0; i < depth; ++i)
    inner = map("success", array(map("request_txn", inner)));
  return inner;
}

TEST_CASE("KV requests round trip", "[codec]") {
  auto range = full_range();
  CHECK(round_trip(range) == range);
  range.range_end.reset();
  CHECK(round_trip(range) == range);
  CHECK(round_trip(storage::RangeRequest{}) == storage::RangeRequest{});

  storage::PutRequest put{"key", std::string(1000, '\0'), 42, true, true, true};
  CHECK(round_trip(put) == put);

  storage::DeleteRangeRequest del{"a", std::string("\0", 1), true};
  CHECK(round_trip(del) == del);
  del.range_end.reset();
  CHECK(round_trip(del) == del);

  CHECK(round_trip(CompactionRequest{99, true}) == CompactionRequest{99, true});
}

TEST_CASE("Txn requests round trip with every compare, op and nesting", "[codec]") {
  storage::TxnRequest t;
  using storage::CompareTarget;
  t.compare = {
      {0, 0, "a", std::nullopt, CompareTarget::version, 3, ""},
      {1, 1, "b", "c", CompareTarget::create, 4, ""},
      {2, 2, "d", std::nullopt, CompareTarget::mod, 5, ""},
      {3, 3, "e", std::nullopt, CompareTarget::value, 0, std::string("x\0y", 3)},
      {0, 4, "f", std::nullopt, CompareTarget::lease, 6, ""},
      {0, 3, "g", std::nullopt, std::nullopt, 0, ""},  // no target value: zero value
  };
  t.success = {storage::RequestOp{full_range()},
               storage::RequestOp{storage::PutRequest{"p", "v", 1, true, false, false}},
               storage::RequestOp{storage::DeleteRangeRequest{"d", "e", true}},
               storage::RequestOp{Box<storage::TxnRequest>(nested_txn(3))}, storage::RequestOp{}};
  t.failure = {storage::RequestOp{storage::PutRequest{"q", "w", 0, false, false, false}}};
  CHECK(round_trip(t) == t);
  CHECK(round_trip(storage::TxnRequest{}) == storage::TxnRequest{});
}

TEST_CASE("KV responses round trip with the node's header", "[codec]") {
  ResponseHeader node{0xfeedfacecafebeefull, 7, 123, 0xffffffffffffffffull};
  auto header_at = [&](int64_t rev) {
    ResponseHeader h = node;
    h.revision = rev;
    return h;
  };

  storage::RangeResponse range{12, {kv("a", 1), kv("b", 2)}, true, 5};
  auto r = kv_round_trip(node, range);
  CHECK(r.response == range);
  CHECK(r.header == header_at(12));

  storage::PutResponse put{13, kv("a", 1)};
  CHECK(kv_round_trip(node, put).response == put);
  put.prev_kv.reset();
  CHECK(kv_round_trip(node, put).response == put);

  storage::DeleteRangeResponse del{14, 2, {kv("x", 3)}};
  CHECK(kv_round_trip(node, del).response == del);

  storage::TxnResponse inner{0, false, {storage::ResponseOp{storage::PutResponse{15, {}}}}};
  storage::TxnResponse txn{
      15,
      true,
      {storage::ResponseOp{range}, storage::ResponseOp{put}, storage::ResponseOp{del},
       storage::ResponseOp{Box<storage::TxnResponse>(inner)}}};
  auto t = kv_round_trip(node, txn);
  CHECK(t.response == txn);
  CHECK(t.header == header_at(15));

  storage::CompactResponse compact{16};
  CHECK(kv_round_trip(node, compact).response == compact);
}

TEST_CASE("responses use bin for bytes, bool for flags, int for enums, absent prev_kv omitted",
          "[codec]") {
  storage::PutResponse put{3, std::nullopt};
  auto oh = unpack(encode_kv_to_string(ResponseHeader{}, put));
  const auto& m = oh.get().via.map;
  REQUIRE(oh.get().type == msgpack::type::MAP);
  REQUIRE(m.size == 1);  // header only
  CHECK(std::string(m.ptr[0].key.via.str.ptr, m.ptr[0].key.via.str.size) == "header");

  storage::RangeResponse range{1, {kv("k", 1)}, true, 1};
  auto ro = unpack(encode_kv_to_string(ResponseHeader{}, range));
  const msgpack::object* kvs = nullptr;
  const msgpack::object* more = nullptr;
  for (uint32_t i = 0; i < ro.get().via.map.size; ++i) {
    auto& e = ro.get().via.map.ptr[i];
    std::string k(e.key.via.str.ptr, e.key.via.str.size);
    if (k == "kvs") kvs = &e.val;
    if (k == "more") more = &e.val;
  }
  REQUIRE(kvs);
  REQUIRE(more);
  CHECK(more->type == msgpack::type::BOOLEAN);
  const auto& first = kvs->via.array.ptr[0].via.map;
  for (uint32_t i = 0; i < first.size; ++i) {
    std::string k(first.ptr[i].key.via.str.ptr, first.ptr[i].key.via.str.size);
    if (k == "key" || k == "value") CHECK(first.ptr[i].val.type == msgpack::type::BIN);
  }

  storage::Event ev{storage::Event::Type::del, kv("k", 1), std::nullopt};
  WatchResponse w;
  w.events = {ev};
  auto wo = unpack(encode_to_string(w));
  bool found = false;
  for (uint32_t i = 0; i < wo.get().via.map.size; ++i) {
    auto& e = wo.get().via.map.ptr[i];
    if (std::string(e.key.via.str.ptr, e.key.via.str.size) != "events") continue;
    const auto& em = e.val.via.array.ptr[0].via.map;
    CHECK(em.size == 2);  // type, kv: no prev_kv
    CHECK(em.ptr[0].val.type == msgpack::type::POSITIVE_INTEGER);
    CHECK(em.ptr[0].val.via.u64 == 1);
    found = true;
  }
  CHECK(found);
}

TEST_CASE("bytes fields accept str as well as bin", "[codec]") {
  auto as_str = decode_bytes<storage::PutRequest>(map("key", "k", "value", "v").bytes);
  auto as_bin = decode_bytes<storage::PutRequest>(map("key", Bin{"k"}, "value", Bin{"v"}).bytes);
  REQUIRE(as_str.ok());
  REQUIRE(as_bin.ok());
  CHECK(as_str.value() == as_bin.value());
  CHECK(as_str.value().key == "k");
  CHECK(as_str.value().value == "v");
}

TEST_CASE("enums accept their upper-case names", "[codec]") {
  auto r = decode_bytes<storage::RangeRequest>(
      map("key", "a", "sort_order", "DESCEND", "sort_target", "MOD").bytes);
  REQUIRE(r.ok());
  CHECK(r.value().sort_order == 2);
  CHECK(r.value().sort_target == 3);

  auto t = decode_bytes<storage::TxnRequest>(
      map("compare", array(map("result", "NOT_EQUAL", "target", "VALUE", "key", "k", "value", "v")))
          .bytes);
  REQUIRE(t.ok());
  CHECK(t.value().compare[0].result == 3);
  CHECK(t.value().compare[0].target == 3);
  CHECK(t.value().compare[0].union_kind == storage::CompareTarget::value);

  auto w = decode_bytes<WatchRequest>(
      map("create_request", map("key", "k", "filters", array("NODELETE", 0))).bytes);
  REQUIRE(w.ok());
  auto& create = std::get<WatchCreateRequest>(w.value().request);
  CHECK(create.filters == std::vector<WatchFilter>{WatchFilter::nodelete, WatchFilter::noput});

  auto a = decode_bytes<AlarmRequest>(map("action", "DEACTIVATE", "alarm", "NOSPACE").bytes);
  REQUIRE(a.ok());
  CHECK(a.value().action == AlarmAction::deactivate);
  CHECK(a.value().alarm == AlarmType::nospace);
}

TEST_CASE(
    "sort options and Compare.result and target pass through as raw integers, other unknown "
    "enums are bad requests",
    "[codec]") {
  auto r = decode_bytes<storage::RangeRequest>(map("sort_order", 7, "sort_target", -1).bytes);
  REQUIRE(r.ok());
  CHECK(r.value().sort_order == 7);
  CHECK(r.value().sort_target == -1);
  // Saturated, so still out of range for the engine.
  auto big = decode_bytes<storage::RangeRequest>(map("sort_order", int64_t{1} << 40).bytes);
  REQUIRE(big.ok());
  CHECK(big.value().sort_order == std::numeric_limits<int32_t>::max());

  CHECK(error_of<storage::RangeRequest>(map("sort_order", "SIDEWAYS")) ==
        "revkv: bad request: sort_order: unknown value \"SIDEWAYS\"");
  // An unknown Compare.result integer is carried to the engine, which evaluates the compare
  // as true (SPEC §3.6.3, etcd); an unknown name has no integer to carry and is refused.
  CHECK(error_of<storage::TxnRequest>(map("compare", array(map("result", "SIDEWAYS")))) ==
        "revkv: bad request: compare[0].result: unknown value \"SIDEWAYS\"");
  CHECK(error_of<storage::TxnRequest>(map("compare", array(map("result", 2.5)))) ==
        "revkv: bad request: compare[0].result: expected an integer or an enum name");
  // So is an unknown Compare.target integer (etcd compares it as equal, SPEC §3.6.3); an
  // unknown name is refused.
  CHECK(error_of<storage::TxnRequest>(map("compare", array(map("target", "KEY")))) ==
        "revkv: bad request: compare[0].target: unknown value \"KEY\"");
  auto unknown_target =
      decode_bytes<storage::TxnRequest>(map("compare", array(map("target", 5))).bytes);
  REQUIRE(unknown_target.ok());
  CHECK(unknown_target.value().compare[0].target == 5);
  CHECK(error_of<WatchRequest>(map("create_request", map("filters", array(2)))) ==
        "revkv: bad request: create_request.filters[0]: unknown value 2");
  CHECK(error_of<AlarmRequest>(map("alarm", 3)) == "revkv: bad request: alarm: unknown value 3");
  CHECK(error_of<AlarmRequest>(map("action", true)) ==
        "revkv: bad request: action: expected an integer or an enum name");
  // A permission type beyond etcd's names is kept (it grants nothing); beyond int32, as
  // authpb's field, it is out of range rather than wrapped onto a named type.
  auto odd = decode_bytes<AuthRoleGrantPermissionRequest>(map("perm", map("permType", 7)).bytes);
  REQUIRE(odd.ok());
  CHECK(static_cast<int32_t>(odd.value().perm.perm_type) == 7);
  CHECK(error_of<AuthRoleGrantPermissionRequest>(
            map("perm", map("permType", (int64_t{1} << 32) + 2))) ==
        "revkv: bad request: perm.permType: integer out of range");
}

TEST_CASE("an unknown Compare.result decodes, saturated to int32, and round trips", "[codec]") {
  auto result_of = [](const Raw& result) {
    auto t = decode_bytes<storage::TxnRequest>(
        map("compare", array(map("result", result, "target", "VERSION", "key", "k", "version", 0)))
            .bytes);
    REQUIRE(t.ok());
    REQUIRE(t.value().compare.size() == 1);
    return t.value().compare[0].result;
  };
  auto raw = [](int64_t v) {
    msgpack::sbuffer sb;
    Packer(sb).pack_int64(v);
    return Raw{std::string(sb.data(), sb.size())};
  };
  CHECK(result_of(raw(4)) == 4);
  CHECK(result_of(raw(9)) == 9);
  CHECK(result_of(raw(-1)) == -1);
  // Saturated, not wrapped: 2^32 + 1 must not become 1 (GREATER).
  CHECK(result_of(raw((int64_t{1} << 32) + 1)) == std::numeric_limits<int32_t>::max());
  CHECK(result_of(raw(std::numeric_limits<int64_t>::min())) == std::numeric_limits<int32_t>::min());
  {
    msgpack::sbuffer sb;
    Packer(sb).pack_uint64(std::numeric_limits<uint64_t>::max());
    CHECK(result_of(Raw{std::string(sb.data(), sb.size())}) == std::numeric_limits<int32_t>::max());
  }

  // The encoder writes the raw value back, so a client or a test sends it as it is.
  storage::TxnRequest t;
  t.compare = {{9, 0, "k", std::nullopt, storage::CompareTarget::version, 0, ""},
               {-7, 3, "v", std::nullopt, storage::CompareTarget::value, 0, "x"}};
  CHECK(round_trip(t) == t);
}

TEST_CASE("unknown fields are ignored and nil means absent", "[codec]") {
  auto p = decode_bytes<storage::PutRequest>(
      map("key", "k", "future_field", map("x", 1), "lease", Nil{}, 7, "non-string key").bytes);
  REQUIRE(p.ok());
  CHECK(p.value() == storage::PutRequest{"k", "", 0, false, false, false});

  auto r = decode_bytes<storage::RangeRequest>(map("key", "k", "range_end", Nil{}).bytes);
  REQUIRE(r.ok());
  CHECK_FALSE(r.value().range_end.has_value());

  // A nil or absent body is the empty request.
  auto nil = msgpack::object();
  REQUIRE(decode_body<storage::RangeRequest>(nil).ok());
  REQUIRE(decode_body<StatusRequest>(nil).ok());
  REQUIRE(decode_bytes<LeaseLeasesRequest>(map("whatever", 1).bytes).ok());
}

TEST_CASE("fields of the wrong type are bad requests naming the field", "[codec]") {
  CHECK(error_of<storage::PutRequest>(map("key", 5)) == "revkv: bad request: key: expected bytes");
  CHECK(error_of<storage::PutRequest>(map("key", "k", "prev_kv", 1)) ==
        "revkv: bad request: prev_kv: expected a boolean");
  CHECK(error_of<storage::RangeRequest>(map("limit", "ten")) ==
        "revkv: bad request: limit: expected an integer");
  CHECK(error_of<storage::RangeRequest>(map("limit", 1.5)) ==
        "revkv: bad request: limit: expected an integer");
  CHECK(error_of<storage::RangeRequest>(map("revision", uint64_t{1} << 63)) ==
        "revkv: bad request: revision: integer out of range");
  CHECK(error_of<storage::RangeRequest>(map("range_end", array())) ==
        "revkv: bad request: range_end: expected bytes");
  CHECK(error_of<storage::TxnRequest>(map("compare", map())) ==
        "revkv: bad request: compare: expected an array");
  CHECK(error_of<storage::TxnRequest>(map("success", array(5))) ==
        "revkv: bad request: success[0]: expected a map");
  CHECK(error_of<storage::TxnRequest>(
            map("failure", array(map("request_put", map("key", "k")),
                                 map("request_put", map("key", "k", "value", 3))))) ==
        "revkv: bad request: failure[1].request_put.value: expected bytes");
  CHECK(error_of<storage::RangeRequest>(array()) == "revkv: bad request: body: expected a map");
  CHECK(error_of<AlarmRequest>(map("memberID", -1)) ==
        "revkv: bad request: memberID: expected a non-negative integer");
  CHECK(error_of<LeaseGrantRequest>(map("TTL", "60")) ==
        "revkv: bad request: TTL: expected an integer");
}

TEST_CASE("a RequestOp with two ops or a Compare with two target values is a bad request",
          "[codec]") {
  CHECK(error_of<storage::TxnRequest>(
            map("success",
                array(map("request_put", map("key", "k"), "request_range", map("key", "k"))))) ==
        "revkv: bad request: success[0]: more than one op set");
  CHECK(error_of<storage::TxnRequest>(
            map("compare", array(map("key", "k", "version", 1, "mod_revision", 2)))) ==
        "revkv: bad request: compare[0]: more than one target value set");
  // nil is absent: one op set.
  auto ok = decode_bytes<storage::TxnRequest>(
      map("success", array(map("request_put", map("key", "k"), "request_range", Nil{}))).bytes);
  REQUIRE(ok.ok());
  CHECK(std::holds_alternative<storage::PutRequest>(ok.value().success[0].op));
  // No op at all: the engine answers it (etcd: key not found).
  auto none = decode_bytes<storage::TxnRequest>(map("success", array(map())).bytes);
  REQUIRE(none.ok());
  CHECK(std::holds_alternative<std::monostate>(none.value().success[0].op));
}

TEST_CASE("txn nesting is bounded", "[codec]") {
  auto at_limit = decode_bytes<storage::TxnRequest>(txn_bomb(kMaxTxnDepth).bytes);
  CHECK(at_limit.ok());
  auto over = error_of<storage::TxnRequest>(txn_bomb(kMaxTxnDepth + 1));
  CHECK(over.find("txn nested deeper than 64 levels") != std::string::npos);
  CHECK(over.rfind("revkv: bad request: success[0].request_txn.success[0].request_txn", 0) == 0);
}

TEST_CASE("Watch requests and responses round trip", "[codec]") {
  WatchCreateRequest create{"a", "b", 5, true, {WatchFilter::noput}, true, 3, true};
  CHECK(round_trip(WatchRequest{create}) == WatchRequest{create});
  CHECK(round_trip(WatchRequest{WatchCancelRequest{4}}) == WatchRequest{WatchCancelRequest{4}});
  CHECK(round_trip(WatchRequest{WatchProgressRequest{}}) == WatchRequest{WatchProgressRequest{}});

  CHECK(error_of<WatchRequest>(map()) ==
        "revkv: bad request: body: expected one of create_request, cancel_request, "
        "progress_request");
  CHECK(error_of<WatchRequest>(map("cancel_request", map(), "progress_request", map())) ==
        "revkv: bad request: body: more than one of create_request, cancel_request, "
        "progress_request");

  WatchResponse resp;
  resp.header = ResponseHeader{1, 2, 3, 4};
  resp.watch_id = -1;
  resp.created = true;
  resp.canceled = true;
  resp.compact_revision = 9;
  resp.cancel_reason = "mvcc: required revision has been compacted";
  resp.fragment = true;
  resp.events = {storage::Event{storage::Event::Type::put, kv("a", 1), kv("a", 0)},
                 storage::Event{storage::Event::Type::del, storage::KeyValue{"b", 0, 4, 0, "", 0},
                                std::nullopt}};
  CHECK(round_trip(resp) == resp);
}

TEST_CASE("Lease and Maintenance bodies round trip with PROTOCOL.md's field names", "[codec]") {
  ResponseHeader h{1, 2, 3, 4};
  CHECK(round_trip(LeaseGrantRequest{60, 7}) == LeaseGrantRequest{60, 7});
  CHECK(round_trip(LeaseGrantResponse{h, 7, 60}) == LeaseGrantResponse{h, 7, 60});
  CHECK(round_trip(LeaseRevokeRequest{7}) == LeaseRevokeRequest{7});
  CHECK(round_trip(LeaseRevokeResponse{h}) == LeaseRevokeResponse{h});
  CHECK(round_trip(LeaseKeepAliveRequest{7}) == LeaseKeepAliveRequest{7});
  CHECK(round_trip(LeaseKeepAliveResponse{h, 7, 0}) == LeaseKeepAliveResponse{h, 7, 0});
  CHECK(round_trip(LeaseTimeToLiveRequest{7, true}) == LeaseTimeToLiveRequest{7, true});
  LeaseTimeToLiveResponse ttl{h, 7, -1, 60, {"k1", std::string("\0k", 2)}};
  CHECK(round_trip(ttl) == ttl);
  CHECK(round_trip(LeaseLeasesRequest{}) == LeaseLeasesRequest{});
  LeaseLeasesResponse leases{h, {{1}, {2}}};
  CHECK(round_trip(leases) == leases);

  StatusResponse status{h, "3.5.0-revkv", 1 << 20, 1 << 19, 5, 6, 7, {"e1", "e2"}, 4, 8};
  CHECK(round_trip(status) == status);
  CHECK(round_trip(StatusRequest{}) == StatusRequest{});
  CHECK(round_trip(DefragmentRequest{}) == DefragmentRequest{});
  CHECK(round_trip(DefragmentResponse{h}) == DefragmentResponse{h});
  CHECK(round_trip(HashKVRequest{5}) == HashKVRequest{5});
  CHECK(round_trip(HashKVResponse{h, 0xdeadbeef, 2, 5}) == HashKVResponse{h, 0xdeadbeef, 2, 5});
  CHECK(round_trip(HashRequest{}) == HashRequest{});
  CHECK(round_trip(HashResponse{h, 0xfeedbeef}) == HashResponse{h, 0xfeedbeef});
  CHECK(round_trip(SnapshotRequest{}) == SnapshotRequest{});
  CHECK(round_trip(SnapshotChunk{9, "blob", 100}) == SnapshotChunk{9, "blob", 100});
  SnapshotResponse snap{h, 1234, std::string(32, '\x5a')};
  CHECK(round_trip(snap) == snap);
  AlarmRequest alarm{AlarmAction::activate, 42, AlarmType::corrupt};
  CHECK(round_trip(alarm) == alarm);
  AlarmResponse alarms{h, {{42, AlarmType::nospace}, {43, AlarmType::corrupt}}};
  CHECK(round_trip(alarms) == alarms);

  // The mixed-case names as written by a client.
  auto grant = decode_bytes<LeaseGrantRequest>(map("TTL", 30, "ID", 5).bytes);
  REQUIRE(grant.ok());
  CHECK(grant.value() == LeaseGrantRequest{30, 5});
  auto st = decode_bytes<StatusResponse>(
      map("dbSize", 10, "dbSizeInUse", 5, "raftIndex", 3, "compactRevision", 2).bytes);
  REQUIRE(st.ok());
  CHECK(st.value().db_size == 10);
  CHECK(st.value().db_size_in_use == 5);
  CHECK(st.value().raft_index == 3);
  CHECK(st.value().compact_revision == 2);
  auto tl = decode_bytes<LeaseTimeToLiveResponse>(map("grantedTTL", 60, "TTL", 12).bytes);
  REQUIRE(tl.ok());
  CHECK(tl.value().granted_ttl == 60);
  CHECK(tl.value().ttl == 12);
  auto am = decode_bytes<AlarmRequest>(map("memberID", 77).bytes);
  REQUIRE(am.ok());
  CHECK(am.value().member_id == 77);
}

TEST_CASE("error objects carry etcd's gRPC code and message", "[codec][errors]") {
  CHECK(to_wire_error(storage::Errc::empty_key) == WireError{3, "etcdserver: key is not provided"});
  CHECK(to_wire_error(storage::Errc::compacted) ==
        WireError{11, "etcdserver: mvcc: required revision has been compacted"});
  CHECK(to_wire_error(storage::Errc::lease_not_found) ==
        WireError{5, "etcdserver: requested lease not found"});
  CHECK(to_wire_error(storage::Errc::no_space) ==
        WireError{8, "etcdserver: mvcc: database space exceeded"});
  CHECK(to_wire_error(storage::Errc::request_too_large) ==
        WireError{3, "etcdserver: request is too large"});
  CHECK(unknown_method("KV.Nope") == WireError{12, "revkv: unknown method KV.Nope"});
  CHECK(malformed_frame() == WireError{3, "revkv: bad request: malformed frame"});

  msgpack::sbuffer sb;
  Packer pk(sb);
  encode_error(pk, unknown_method("X"));
  auto oh = msgpack::unpack(sb.data(), sb.size());
  auto back = decode_error(oh.get());
  REQUIRE(back);
  CHECK(*back == unknown_method("X"));
  // The message is text (str), the code an integer.
  CHECK(oh.get().via.map.ptr[1].val.type == msgpack::type::STR);
  CHECK_FALSE(decode_error(msgpack::object()));
}

TEST_CASE("text that is not UTF-8 is written as bin, and reads back the same", "[codec][errors]") {
  // msgpack's str is UTF-8: strict readers (Python's msgpack, raw=False) refuse one that is
  // not. An error quoting a client's bytes, or a user name of any bytes, goes as bin.
  const std::string broken = "KV.\xff\xc3(";
  msgpack::sbuffer sb;
  Packer pk(sb);
  encode_error(pk, unknown_method(broken));
  auto oh = msgpack::unpack(sb.data(), sb.size());
  CHECK(oh.get().via.map.ptr[1].val.type == msgpack::type::BIN);
  auto back = decode_error(oh.get());
  REQUIRE(back);
  CHECK(*back == unknown_method(broken));

  AuthUserListResponse users{ResponseHeader{1, 2, 3, 4}, {"r\xc3\xa9mi", "\xed\xa0\x80", ""}};
  auto uo = unpack(encode_to_string(users));
  const msgpack::object* list = nullptr;
  for (uint32_t i = 0; i < uo.get().via.map.size; ++i) {
    const auto& e = uo.get().via.map.ptr[i];
    if (std::string(e.key.via.str.ptr, e.key.via.str.size) == "users") list = &e.val;
  }
  REQUIRE(list);
  REQUIRE(list->via.array.size == 3);
  CHECK(list->via.array.ptr[0].type == msgpack::type::STR);  // valid UTF-8 stays str
  CHECK(list->via.array.ptr[1].type == msgpack::type::BIN);  // a surrogate is not UTF-8
  CHECK(list->via.array.ptr[2].type == msgpack::type::STR);
  CHECK(round_trip(users) == users);
}

TEST_CASE("method names map to the enum and back", "[method]") {
  CHECK(all_methods().size() == 17);
  for (Method m : all_methods())
    CHECK(method_from_name(method_name(m)) == m);
  CHECK(method_name(Method::kv_range) == "KV.Range");
  CHECK(method_name(Method::lease_time_to_live) == "Lease.LeaseTimeToLive");
  CHECK(method_name(Method::maintenance_hash_kv) == "Maintenance.HashKV");
  CHECK(method_name(Method::maintenance_hash) == "Maintenance.Hash");
  CHECK(method_from_name("Watch.Watch") == Method::watch);
  CHECK_FALSE(method_from_name("kv.range"));
  CHECK_FALSE(method_from_name(""));
}

TEST_CASE("Cluster and MoveLeader bodies round trip with PROTOCOL.md's field names", "[codec]") {
  ResponseHeader h{1, 2, 3, 4};
  ClusterMember a{
      0x8e9e05c52164694dull, "a", {"http://10.0.0.1:2380"}, {"http://10.0.0.1:2379"}, false};
  ClusterMember d{0x5c1d, "", {"http://10.0.0.4:2380"}, {}, true};
  CHECK(round_trip(MemberListRequest{}) == MemberListRequest{});
  CHECK(round_trip(MembersResponse{h, {a, d}}) == MembersResponse{h, {a, d}});
  CHECK(round_trip(MemberAddRequest{{"http://10.0.0.4:2380"}, true}) ==
        MemberAddRequest{{"http://10.0.0.4:2380"}, true});
  CHECK(round_trip(MemberAddResponse{h, d, {a, d}}) == MemberAddResponse{h, d, {a, d}});
  CHECK(round_trip(MemberIdRequest{0x5c1d}) == MemberIdRequest{0x5c1d});
  CHECK(round_trip(MemberUpdateRequest{7, {"http://h:1"}}) ==
        MemberUpdateRequest{7, {"http://h:1"}});
  CHECK(round_trip(MoveLeaderRequest{0x5c1d}) == MoveLeaderRequest{0x5c1d});
  CHECK(round_trip(MoveLeaderResponse{h}) == MoveLeaderResponse{h});

  // etcd's proto names as a client writes them.
  auto add = decode_bytes<MemberAddRequest>(
      map("peerURLs", std::vector<std::string>{"http://10.0.0.4:2380"}, "isLearner", true).bytes);
  REQUIRE(add.ok());
  CHECK(add.value() == MemberAddRequest{{"http://10.0.0.4:2380"}, true});
  auto remove = decode_bytes<MemberIdRequest>(map("ID", 42).bytes);
  REQUIRE(remove.ok());
  CHECK(remove.value().id == 42);
  auto move = decode_bytes<MoveLeaderRequest>(map("targetID", 43).bytes);
  REQUIRE(move.ok());
  CHECK(move.value().target_id == 43);
  CHECK(decode_bytes<MemberIdRequest>(map("ID", -1).bytes).error().message ==
        "revkv: bad request: ID: expected a non-negative integer");
}

TEST_CASE("Cluster method names are not request path methods", "[codec]") {
  CHECK(cluster_method_name(ClusterMethod::member_list) == "Cluster.MemberList");
  CHECK(cluster_method_name(ClusterMethod::move_leader) == "Maintenance.MoveLeader");
  CHECK(cluster_method_from_name("Cluster.MemberPromote") == ClusterMethod::member_promote);
  CHECK_FALSE(cluster_method_from_name("Cluster.Member"));
  CHECK_FALSE(method_from_name("Maintenance.MoveLeader"));  // not on the request path
}

}  // namespace
}  // namespace revkv::protocol
