// etcd's KV service through revkvd's gRPC door (etcdapi/) against the same requests
// through the MessagePack door: two fresh nodes, the same sequence sent to one over
// MessagePack and to the other over gRPC, every answer compared (engine structs or
// {code, message}). Both doors share one request path, so any difference is a conversion
// bug in etcdapi/convert.cpp or a wrong status mapping.

#include "client/client.hpp"
#include "etcdapi/convert.hpp"
#include "tests/etcdapi/two_doors.hpp"
#include "tests/node/node_process.hpp"
#include "tests/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <etcdserverpb/rpc.grpc.pb.h>
#include <grpcpp/grpcpp.h>
#include <memory>
#include <string>
#include <variant>

namespace revkv {
namespace {

using namespace std::chrono_literals;

using testing::describe;
using testing::Outcome;

// Over MessagePack: the engine struct of the response, or the error.
template <class T>
Outcome<T> from_msgpack(const client::Result<protocol::KvResponse<T>>& r) {
  if (!r.ok()) return r.error();
  return r.value().response;
}

class GrpcKv {
 public:
  explicit GrpcKv(const std::string& endpoint)
      : stub_(etcdserverpb::KV::NewStub(
            grpc::CreateChannel(endpoint, grpc::InsecureChannelCredentials()))) {}

  Outcome<storage::RangeResponse> range(const storage::RangeRequest& r) {
    etcdserverpb::RangeRequest req;
    etcdapi::to_proto(r, req);
    return call(&etcdserverpb::KV::Stub::Range, req, last_range_);
  }
  Outcome<storage::PutResponse> put(const storage::PutRequest& r) {
    etcdserverpb::PutRequest req;
    etcdapi::to_proto(r, req);
    etcdserverpb::PutResponse resp;
    return call(&etcdserverpb::KV::Stub::Put, req, resp);
  }
  Outcome<storage::DeleteRangeResponse> delete_range(const storage::DeleteRangeRequest& r) {
    etcdserverpb::DeleteRangeRequest req;
    etcdapi::to_proto(r, req);
    etcdserverpb::DeleteRangeResponse resp;
    return call(&etcdserverpb::KV::Stub::DeleteRange, req, resp);
  }
  Outcome<storage::TxnResponse> txn(const storage::TxnRequest& r) {
    etcdserverpb::TxnRequest req;
    etcdapi::to_proto(r, req);
    return call(&etcdserverpb::KV::Stub::Txn, req, last_txn_);
  }
  Outcome<storage::CompactResponse> compact(int64_t revision) {
    etcdserverpb::CompactionRequest req;
    req.set_revision(revision);
    etcdserverpb::CompactionResponse resp;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + 10s);
    auto status = stub_->Compact(&ctx, req, &resp);
    if (!status.ok()) return error_of(status);
    last_header_ = resp.header();
    return storage::CompactResponse{resp.header().revision()};
  }

  const etcdserverpb::ResponseHeader& last_header() const { return last_header_; }
  const etcdserverpb::TxnResponse& last_txn() const { return last_txn_; }

 private:
  static protocol::WireError error_of(const grpc::Status& s) {
    return protocol::WireError{static_cast<int64_t>(s.error_code()), s.error_message()};
  }

  template <class Method, class Req, class Resp>
  auto call(Method method, const Req& req, Resp& resp)
      -> Outcome<decltype(etcdapi::from_proto(resp))> {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + 10s);
    resp.Clear();
    auto status = (stub_.get()->*method)(&ctx, req, &resp);
    if (!status.ok()) return error_of(status);
    last_header_ = resp.header();
    return etcdapi::from_proto(resp);
  }

  std::unique_ptr<etcdserverpb::KV::Stub> stub_;
  etcdserverpb::RangeResponse last_range_;
  etcdserverpb::TxnResponse last_txn_;
  etcdserverpb::ResponseHeader last_header_;
};

storage::RangeRequest range_of(std::string key, std::optional<std::string> end = std::nullopt) {
  storage::RangeRequest r;
  r.key = std::move(key);
  r.range_end = std::move(end);
  return r;
}

storage::RequestOp op(storage::PutRequest p) {
  return storage::RequestOp{std::move(p)};
}
storage::RequestOp op(storage::RangeRequest r) {
  return storage::RequestOp{std::move(r)};
}
storage::RequestOp op(storage::DeleteRangeRequest d) {
  return storage::RequestOp{std::move(d)};
}

storage::Compare compare_value(std::string key, storage::CompareResult result, std::string v) {
  storage::Compare c;
  c.result = static_cast<int32_t>(result);
  c.target = static_cast<int32_t>(storage::CompareTarget::value);
  c.key = std::move(key);
  c.union_kind = storage::CompareTarget::value;
  c.value = std::move(v);
  return c;
}

storage::Compare compare_mod(std::string key, storage::CompareResult result, int64_t rev) {
  storage::Compare c;
  c.result = static_cast<int32_t>(result);
  c.target = static_cast<int32_t>(storage::CompareTarget::mod);
  c.key = std::move(key);
  c.union_kind = storage::CompareTarget::mod;
  c.number = rev;
  return c;
}

struct Nodes : testing::TwoDoors<GrpcKv> {
  Nodes() : TwoDoors("3") {}
};

#define SAME(mp_call, grpc_call)                                                  \
  do {                                                                            \
    auto a = from_msgpack(mp_call);                                               \
    auto b = grpc_call;                                                           \
    INFO(#grpc_call << ": msgpack " << describe(a) << " / grpc " << describe(b)); \
    CHECK(a == b);                                                                \
  } while (0)

TEST_CASE("KV over gRPC answers as the MessagePack door does", "[etcdapi][node]") {
  Nodes n;
  auto& mp = *n.mp;
  auto& g = *n.grpc;

  // Put, with and without prev_kv.
  SAME(mp.put({"a", "1"}), g.put({"a", "1"}));
  SAME(mp.put({"a", "2", 0, true}), g.put({"a", "2", 0, true}));
  SAME(mp.put({"b", "3"}), g.put({"b", "3"}));
  SAME(mp.put({"c", "4"}), g.put({"c", "4"}));
  SAME(mp.put({"d/1", "5"}), g.put({"d/1", "5"}));

  // Range: single key, everything, limit, an old revision, keys_only, count_only, sorted.
  SAME(mp.range(range_of("a")), g.range(range_of("a")));
  SAME(mp.range(range_of("a", std::string(1, '\0'))), g.range(range_of("a", std::string(1, '\0'))));
  auto limited = range_of("a", std::string(1, '\0'));
  limited.limit = 2;
  SAME(mp.range(limited), g.range(limited));
  auto old = range_of("a");
  old.revision = 2;
  SAME(mp.range(old), g.range(old));
  auto keys = range_of("a", "z");
  keys.keys_only = true;
  SAME(mp.range(keys), g.range(keys));
  auto count = range_of("a", "z");
  count.count_only = true;
  SAME(mp.range(count), g.range(count));
  auto sorted = range_of("a", "z");
  sorted.sort_order = 2;
  sorted.sort_target = 3;
  SAME(mp.range(sorted), g.range(sorted));
  SAME(mp.range(range_of("nothing")), g.range(range_of("nothing")));

  // DeleteRange: one key with prev_kv, then a range.
  SAME(mp.delete_range({"b", std::nullopt, true}), g.delete_range({"b", std::nullopt, true}));
  SAME(mp.delete_range({"c", std::string("d0")}), g.delete_range({"c", std::string("d0")}));

  // Txn: the success branch, then the failure branch with a nested txn.
  storage::TxnRequest t1;
  t1.compare = {compare_value("a", storage::CompareResult::equal, "2")};
  t1.success = {op(storage::PutRequest{"x", "10"}), op(range_of("a"))};
  t1.failure = {op(storage::PutRequest{"y", "11"})};
  SAME(mp.txn(t1), g.txn(t1));
  CHECK(g.last_txn().succeeded());

  storage::TxnRequest inner;
  inner.success = {op(range_of("x"))};
  storage::TxnRequest t2;
  t2.compare = {compare_mod("a", storage::CompareResult::greater, 1000)};
  t2.success = {op(storage::PutRequest{"never", "0"})};
  t2.failure = {op(storage::DeleteRangeRequest{"x", std::nullopt, true}),
                storage::RequestOp{storage::Box<storage::TxnRequest>(inner)}};
  SAME(mp.txn(t2), g.txn(t2));
  CHECK_FALSE(g.last_txn().succeeded());
  // etcd's nested responses carry a header with the revision only.
  REQUIRE(g.last_txn().responses_size() == 2);
  const auto& nested = g.last_txn().responses(0).response_delete_range().header();
  CHECK(nested.revision() == g.last_txn().header().revision());
  CHECK(nested.cluster_id() == 0);
  CHECK(nested.member_id() == 0);

  // Compact, then the errors: compacted, future revision, duplicate key, empty key.
  SAME(mp.compact({4, false}), g.compact(4));
  auto compacted = range_of("a");
  compacted.revision = 2;
  SAME(mp.range(compacted), g.range(compacted));
  auto future = range_of("a");
  future.revision = 1000;
  SAME(mp.range(future), g.range(future));
  SAME(mp.compact({3, false}), g.compact(3));
  storage::TxnRequest dup;
  dup.success = {op(storage::PutRequest{"k", "1"}), op(storage::PutRequest{"k", "2"})};
  SAME(mp.txn(dup), g.txn(dup));
  SAME(mp.put({"", "v"}), g.put({"", "v"}));
  SAME(mp.range(range_of("")), g.range(range_of("")));
  // Over --max-request-bytes (1.5 MiB by default), under gRPC's own limit.
  storage::PutRequest big{"big", std::string(1600 * 1024, 'v')};
  SAME(mp.put(big), g.put(big));
  CHECK(std::get<protocol::WireError>(g.put(big)).message == "etcdserver: request is too large");

  auto err = g.range(compacted);
  REQUIRE(std::holds_alternative<protocol::WireError>(err));
  CHECK(std::get<protocol::WireError>(err) ==
        protocol::WireError{11, "etcdserver: mvcc: required revision has been compacted"});
}

TEST_CASE("gRPC response headers are the node's", "[etcdapi][node]") {
  Nodes n;
  // The gRPC node's own header, read over its MessagePack door.
  client::ClientOptions o;
  o.request_timeout = 10000ms;
  auto c = client::Client::connect(n.grpc_node->endpoint(), o);
  REQUIRE(c.ok());
  auto put = n.grpc->put({"h", "1"});
  REQUIRE(std::holds_alternative<storage::PutResponse>(put));
  auto header = n.grpc->last_header();
  auto mp = c.value().range(range_of("h"));
  REQUIRE(mp.ok());
  CHECK(header.cluster_id() == mp.value().header.cluster_id);
  CHECK(header.member_id() == mp.value().header.member_id);
  CHECK(header.raft_term() == mp.value().header.raft_term);
  CHECK(header.revision() == mp.value().header.revision);
  CHECK(header.cluster_id() != 0);
  CHECK(header.member_id() != 0);
}

}  // namespace
}  // namespace revkv
