// etcd's Lease and Maintenance services through revkvd's gRPC door against the same
// requests through the MessagePack door: two fresh nodes, the same sequence to each, the
// answers compared with their headers set aside (each header is checked against the
// node's own). The Cluster, Auth and MoveLeader answers the gRPC handlers make themselves
// are checked against what a one-member etcd answers.

#include "client/client.hpp"
#include "etcdapi/convert.hpp"
#include "tests/etcdapi/two_doors.hpp"
#include "tests/node/node_process.hpp"
#include "tests/temp_dir.hpp"
#include "util/sha256.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdlib>
#include <etcdserverpb/rpc.grpc.pb.h>
#include <grpcpp/grpcpp.h>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <variant>
#include <vector>

namespace revkv {
namespace {

using namespace std::chrono_literals;

using testing::describe;
using testing::Outcome;

// The headers are compared separately (header_is_nodes); everything else must match.
template <class T>
Outcome<T> without_header(Outcome<T> o) {
  if (auto* r = std::get_if<T>(&o)) r->header = {};
  return o;
}

template <class T>
Outcome<T> from_msgpack(const client::Result<T>& r) {
  if (!r.ok()) return r.error();
  return without_header<T>(r.value());
}

std::unique_ptr<grpc::ClientContext> context() {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + 10s);
  return ctx;
}

protocol::WireError error_of(const grpc::Status& s) {
  return protocol::WireError{static_cast<int64_t>(s.error_code()), s.error_message()};
}

class GrpcStubs {
 public:
  explicit GrpcStubs(const std::string& endpoint)
      : channel_(grpc::CreateChannel(endpoint, grpc::InsecureChannelCredentials())),
        lease(etcdserverpb::Lease::NewStub(channel_)),
        maintenance(etcdserverpb::Maintenance::NewStub(channel_)),
        cluster(etcdserverpb::Cluster::NewStub(channel_)),
        auth(etcdserverpb::Auth::NewStub(channel_)),
        kv(etcdserverpb::KV::NewStub(channel_)) {}

  // A unary call: the converted response without its header (kept in last_header), or
  // the status as {code, message}.
  template <class Stub, class Req, class Resp>
  auto call(Stub& stub,
            grpc::Status (Stub::element_type::*method)(grpc::ClientContext*, const Req&, Resp*),
            const Req& req) -> Outcome<decltype(etcdapi::from_proto(std::declval<Resp>()))> {
    using T = decltype(etcdapi::from_proto(std::declval<Resp>()));
    Resp resp;
    auto ctx = context();
    auto status = ((*stub).*method)(ctx.get(), req, &resp);
    if (!status.ok()) return error_of(status);
    last_header = etcdapi::from_proto(resp.header());
    return without_header<T>(etcdapi::from_proto(resp));
  }

  Outcome<protocol::LeaseGrantResponse> grant(int64_t ttl, int64_t id) {
    etcdserverpb::LeaseGrantRequest r;
    r.set_ttl(ttl);
    r.set_id(id);
    return call(lease, &etcdserverpb::Lease::Stub::LeaseGrant, r);
  }
  Outcome<protocol::LeaseRevokeResponse> revoke(int64_t id) {
    etcdserverpb::LeaseRevokeRequest r;
    r.set_id(id);
    return call(lease, &etcdserverpb::Lease::Stub::LeaseRevoke, r);
  }
  Outcome<protocol::LeaseTimeToLiveResponse> time_to_live(int64_t id, bool keys) {
    etcdserverpb::LeaseTimeToLiveRequest r;
    r.set_id(id);
    r.set_keys(keys);
    return call(lease, &etcdserverpb::Lease::Stub::LeaseTimeToLive, r);
  }
  Outcome<protocol::LeaseLeasesResponse> leases() {
    return call(lease, &etcdserverpb::Lease::Stub::LeaseLeases, etcdserverpb::LeaseLeasesRequest{});
  }
  Outcome<protocol::StatusResponse> status() {
    return call(maintenance, &etcdserverpb::Maintenance::Stub::Status,
                etcdserverpb::StatusRequest{});
  }
  Outcome<protocol::DefragmentResponse> defragment() {
    return call(maintenance, &etcdserverpb::Maintenance::Stub::Defragment,
                etcdserverpb::DefragmentRequest{});
  }
  Outcome<protocol::HashResponse> hash() {
    return call(maintenance, &etcdserverpb::Maintenance::Stub::Hash, etcdserverpb::HashRequest{});
  }
  Outcome<protocol::HashKVResponse> hash_kv(int64_t revision) {
    etcdserverpb::HashKVRequest r;
    r.set_revision(revision);
    return call(maintenance, &etcdserverpb::Maintenance::Stub::HashKV, r);
  }
  Outcome<protocol::AlarmResponse> alarm(const protocol::AlarmRequest& a) {
    etcdserverpb::AlarmRequest r;
    r.set_action(static_cast<etcdserverpb::AlarmRequest::AlarmAction>(a.action));
    r.set_memberid(a.member_id);
    r.set_alarm(static_cast<etcdserverpb::AlarmType>(a.alarm));
    return call(maintenance, &etcdserverpb::Maintenance::Stub::Alarm, r);
  }
  // A put's outcome only (the KV door is compared in kv_grpc_test.cpp).
  grpc::Status put(const std::string& key, const std::string& value, int64_t lease_id) {
    etcdserverpb::PutRequest r;
    r.set_key(key);
    r.set_value(value);
    r.set_lease(lease_id);
    etcdserverpb::PutResponse resp;
    auto ctx = context();
    return kv->Put(ctx.get(), r, &resp);
  }

  protocol::ResponseHeader last_header;

 private:
  std::shared_ptr<grpc::Channel> channel_;

 public:
  std::unique_ptr<etcdserverpb::Lease::Stub> lease;
  std::unique_ptr<etcdserverpb::Maintenance::Stub> maintenance;
  std::unique_ptr<etcdserverpb::Cluster::Stub> cluster;
  std::unique_ptr<etcdserverpb::Auth::Stub> auth;
  std::unique_ptr<etcdserverpb::KV::Stub> kv;
};

struct Nodes : testing::TwoDoors<GrpcStubs> {
  Nodes() : TwoDoors("2") {}

  // The gRPC node's header as its MessagePack door writes it.
  protocol::ResponseHeader grpc_nodes_header() {
    client::ClientOptions o;
    o.request_timeout = 10000ms;
    auto c = client::Client::connect(grpc_node->endpoint(), o);
    REQUIRE(c.ok());
    auto s = c.value().status();
    REQUIRE(s.ok());
    return s.value().header;
  }
};

#define SAME(mp_call, grpc_call)                                                  \
  do {                                                                            \
    auto a = from_msgpack(mp_call);                                               \
    auto b = grpc_call;                                                           \
    INFO(#grpc_call << ": msgpack " << describe(a) << " / grpc " << describe(b)); \
    CHECK(a == b);                                                                \
  } while (0)

TEST_CASE("Lease over gRPC answers as the MessagePack door does", "[etcdapi][node]") {
  Nodes n;
  auto& mp = *n.mp;
  auto& g = *n.grpc;

  // Explicit ids: ID 0 picks one from the wall clock, different on the two nodes.
  SAME(mp.lease_grant({100, 7}), g.grant(100, 7));
  SAME(mp.lease_grant({100, 8}), g.grant(100, 8));
  SAME(mp.lease_grant({100, 7}), g.grant(100, 7));                // lease already exists
  SAME(mp.lease_grant({9000000001, 9}), g.grant(9000000001, 9));  // too large TTL
  CHECK(g.last_header.member_id != 0);

  REQUIRE(mp.put({"k1", "v", 7}).ok());
  REQUIRE(mp.put({"k2", "v", 7}).ok());
  REQUIRE(g.put("k1", "v", 7).ok());
  REQUIRE(g.put("k2", "v", 7).ok());
  auto missing_lease = g.put("k3", "v", 99);
  CHECK(error_of(missing_lease) == mp.put({"k3", "v", 99}).error());

  // The remaining TTL is a clock reading: equal to within a second.
  auto a = from_msgpack(mp.lease_time_to_live({7, true}));
  auto b = g.time_to_live(7, true);
  REQUIRE(std::holds_alternative<protocol::LeaseTimeToLiveResponse>(a));
  REQUIRE(std::holds_alternative<protocol::LeaseTimeToLiveResponse>(b));
  auto& ta = std::get<protocol::LeaseTimeToLiveResponse>(a);
  auto& tb = std::get<protocol::LeaseTimeToLiveResponse>(b);
  CHECK(std::abs(ta.ttl - tb.ttl) <= 1);
  ta.ttl = tb.ttl;
  CHECK(a == b);
  CHECK(tb.keys == std::vector<std::string>{"k1", "k2"});
  SAME(mp.lease_time_to_live({99, false}), g.time_to_live(99, false));
  SAME(mp.lease_leases(), g.leases());

  SAME(mp.lease_revoke({7}), g.revoke(7));
  SAME(mp.lease_revoke({7}), g.revoke(7));  // lease not found
  SAME(mp.lease_time_to_live({7, true}), g.time_to_live(7, true));
  SAME(mp.lease_leases(), g.leases());
}

TEST_CASE("LeaseKeepAlive over gRPC: one answer per request, in order", "[etcdapi][node]") {
  Nodes n;
  auto& mp = *n.mp;
  auto& g = *n.grpc;
  REQUIRE(mp.lease_grant({60, 5}).ok());
  REQUIRE(std::holds_alternative<protocol::LeaseGrantResponse>(g.grant(60, 5)));

  auto ctx = context();
  auto stream = g.lease->LeaseKeepAlive(ctx.get());
  // Pipelined: three requests written before any answer is read.
  for (int64_t id : {5, 404, 5}) {
    etcdserverpb::LeaseKeepAliveRequest r;
    r.set_id(id);
    REQUIRE(stream->Write(r));
  }
  for (int64_t id : {5, 404, 5}) {
    etcdserverpb::LeaseKeepAliveResponse resp;
    REQUIRE(stream->Read(&resp));
    auto got = etcdapi::from_proto(resp);
    CHECK(got.header.member_id == n.grpc_nodes_header().member_id);
    got.header = {};
    Outcome<protocol::LeaseKeepAliveResponse> over_grpc = got;
    SAME(mp.lease_keep_alive({id}), over_grpc);
    // etcd answers TTL 0 for a lease that is gone, not an error.
    CHECK(got.id == id);
    CHECK((got.ttl == 0) == (id == 404));
  }
  stream->WritesDone();
  CHECK(stream->Finish().ok());
}

TEST_CASE("Maintenance over gRPC answers as the MessagePack door does", "[etcdapi][node]") {
  Nodes n;
  auto& mp = *n.mp;
  auto& g = *n.grpc;
  for (auto* key : {"a", "b", "c"}) {
    REQUIRE(mp.put({key, "v"}).ok());
    REQUIRE(g.put(key, "v", 0).ok());
  }

  // Status: the database sizes are the two nodes' own; the rest must match.
  auto sa = from_msgpack(mp.status());
  auto sb = g.status();
  REQUIRE(std::holds_alternative<protocol::StatusResponse>(sa));
  REQUIRE(std::holds_alternative<protocol::StatusResponse>(sb));
  auto& ma = std::get<protocol::StatusResponse>(sa);
  auto& mb = std::get<protocol::StatusResponse>(sb);
  CHECK(mb.db_size > 0);
  // revkv's own fields, not in etcd's message.
  ma.shards = ma.compact_revision = 0;
  ma.db_size = mb.db_size;
  ma.db_size_in_use = mb.db_size_in_use;
  CHECK(sa == sb);
  CHECK(mb.leader == n.grpc_nodes_header().member_id);
  CHECK(g.last_header == n.grpc_nodes_header());

  SAME(mp.hash_kv({0}), g.hash_kv(0));
  // A negative revision hashes no record, as etcd's HashByRev: the seed's CRC-32C, the
  // hash etcd 3.4 answers for it (1084519789).
  for (int64_t negative : {int64_t{-1}, int64_t{-2}, std::numeric_limits<int64_t>::min()}) {
    SAME(mp.hash_kv({negative}), g.hash_kv(negative));
    auto nothing = g.hash_kv(negative);
    REQUIRE(std::holds_alternative<protocol::HashKVResponse>(nothing));
    CHECK(std::get<protocol::HashKVResponse>(nothing).hash == 1084519789u);
    CHECK(std::get<protocol::HashKVResponse>(nothing).hash_revision == negative);
  }
  SAME(mp.hash_kv({3}), g.hash_kv(3));
  SAME(mp.hash_kv({1000}), g.hash_kv(1000));  // future revision
  SAME(mp.defragment(), g.defragment());
  // Hash: the whole backend's CRC. The same writes on both nodes: the same hash; another
  // write: another hash (on both).
  SAME(mp.hash(), g.hash());
  auto before = mp.hash();
  REQUIRE(before.ok());
  REQUIRE(mp.put({"e", "v"}).ok());
  REQUIRE(g.put("e", "v", 0).ok());
  SAME(mp.hash(), g.hash());
  CHECK(mp.hash().value().hash != before.value().hash);

  // The alarm: none, raised (writes refused), listed, disarmed.
  const uint64_t member = n.grpc_nodes_header().member_id;
  using protocol::AlarmAction;
  using protocol::AlarmType;
  SAME(mp.alarm({AlarmAction::get, 0, AlarmType::none}),
       g.alarm({AlarmAction::get, 0, AlarmType::none}));
  SAME(mp.alarm({AlarmAction::activate, member, AlarmType::nospace}),
       g.alarm({AlarmAction::activate, member, AlarmType::nospace}));
  SAME(mp.alarm({AlarmAction::get, 0, AlarmType::none}),
       g.alarm({AlarmAction::get, 0, AlarmType::none}));
  // A GET lists the alarms of the type it names, as etcd's alarm store.
  auto corrupt = g.alarm({AlarmAction::get, 0, AlarmType::corrupt});
  REQUIRE(std::holds_alternative<protocol::AlarmResponse>(corrupt));
  CHECK(std::get<protocol::AlarmResponse>(corrupt).alarms.empty());
  SAME(mp.alarm({AlarmAction::get, 0, AlarmType::corrupt}),
       g.alarm({AlarmAction::get, 0, AlarmType::corrupt}));
  auto nospace = g.alarm({AlarmAction::get, 0, AlarmType::nospace});
  REQUIRE(std::holds_alternative<protocol::AlarmResponse>(nospace));
  CHECK(std::get<protocol::AlarmResponse>(nospace).alarms.size() == 1);
  // Status names it in etcd's words, gogoproto's text with its trailing blank.
  auto raised = g.status();
  REQUIRE(std::holds_alternative<protocol::StatusResponse>(raised));
  CHECK(std::get<protocol::StatusResponse>(raised).errors ==
        std::vector<std::string>{"memberID:" + std::to_string(member) + " alarm:NOSPACE "});
  CHECK(error_of(g.put("d", "v", 0)) == mp.put({"d", "v"}).error());
  SAME(mp.lease_grant({100, 20}), g.grant(100, 20));  // refused like a put
  SAME(mp.alarm({AlarmAction::deactivate, member, AlarmType::nospace}),
       g.alarm({AlarmAction::deactivate, member, AlarmType::nospace}));
  CHECK(g.put("d", "v", 0).ok());
}

TEST_CASE("Maintenance.Snapshot over gRPC: the chunks, then etcd's trailing SHA-256",
          "[etcdapi][node]") {
  testing::TempDir dir;
  testing::NodeProcess node(dir.sub("data"), {"--sync", "never"});
  GrpcStubs g(node.grpc_endpoint());
  // ~8 MiB that does not compress: more than the path's 4 MiB window of unsent chunks, so
  // the stream must resume as gRPC writes.
  std::mt19937_64 random(42);
  for (int i = 0; i < 8; ++i) {
    std::string value(1 << 20, '\0');
    for (auto& c : value)
      c = static_cast<char>(random());
    REQUIRE(g.put("big" + std::to_string(i), value, 0).ok());
  }

  auto ctx = context();
  auto reader = g.maintenance->Snapshot(ctx.get(), {});
  etcdserverpb::SnapshotResponse m;
  std::vector<etcdserverpb::SnapshotResponse> messages;
  while (reader->Read(&m))
    messages.push_back(m);
  REQUIRE(reader->Finish().ok());
  REQUIRE(messages.size() >= 3);

  uint64_t total = 0;
  for (size_t i = 0; i + 1 < messages.size(); ++i)
    total += messages[i].blob().size();
  CHECK(total > (8u << 20));
  // Every data chunk: at most 1 MiB, remaining_bytes = what follows it (0 on the last).
  util::Sha256 sha;
  uint64_t sent = 0;
  for (size_t i = 0; i + 1 < messages.size(); ++i) {
    INFO("chunk " << i);
    CHECK(messages[i].blob().size() <= (1u << 20));
    sha.update(messages[i].blob());
    sent += messages[i].blob().size();
    CHECK(messages[i].remaining_bytes() == total - sent);
  }
  // Then, as etcd ends the stream: the SHA-256 of all of it, with the node's header.
  const auto& last = messages.back();
  CHECK(last.remaining_bytes() == 0);
  CHECK(last.blob() == sha.finish());
  CHECK(last.header().member_id() != 0);
  CHECK(last.header().revision() == 9);
}

TEST_CASE("Cluster, Auth and MoveLeader over gRPC answer as a one-member etcd", "[etcdapi][node]") {
  testing::TempDir dir;
  testing::NodeProcess node(dir.sub("data"), {"--sync", "never"});
  GrpcStubs g(node.grpc_endpoint());
  client::ClientOptions o;
  o.request_timeout = 10000ms;
  auto c = client::Client::connect(node.endpoint(), o);
  REQUIRE(c.ok());
  auto header = c.value().status().value().header;

  etcdserverpb::MemberListResponse list;
  auto ctx = context();
  REQUIRE(g.cluster->MemberList(ctx.get(), {}, &list).ok());
  CHECK(etcdapi::from_proto(list.header()) == header);
  REQUIRE(list.members_size() == 1);
  CHECK(list.members(0).id() == header.member_id);
  CHECK(list.members(0).name() == "default");
  REQUIRE(list.members(0).clienturls_size() == 1);
  CHECK(list.members(0).clienturls(0) == "http://" + node.grpc_endpoint());
  CHECK_FALSE(list.members(0).islearner());

  // Unknown, as etcd sends it (etcdapi/cluster_service.cpp).
  const protocol::WireError not_enough{
      2, "etcdserver: re-configuration failed due to not enough started members"};
  const protocol::WireError not_found{5, "etcdserver: member not found"};
  {
    etcdserverpb::MemberAddRequest r;
    r.add_peerurls("http://127.0.0.1:2380");
    etcdserverpb::MemberAddResponse resp;
    ctx = context();
    CHECK(error_of(g.cluster->MemberAdd(ctx.get(), r, &resp)) == not_enough);
  }
  // URLs etcd's types.NewURLs refuses are refused first, as etcd 3.4 answers them.
  for (const char* url : {"", "foo", "127.0.0.1:5555", "http://127.0.0.1", "http://h:1/path"}) {
    etcdserverpb::MemberAddRequest r;
    if (*url) r.add_peerurls(url);
    etcdserverpb::MemberAddResponse resp;
    ctx = context();
    INFO(url);
    CHECK(error_of(g.cluster->MemberAdd(ctx.get(), r, &resp)) ==
          protocol::WireError{3, "etcdserver: given member URLs are invalid"});
  }
  for (uint64_t id : {header.member_id, uint64_t{12345}}) {
    etcdserverpb::MemberRemoveRequest r;
    r.set_id(id);
    etcdserverpb::MemberRemoveResponse resp;
    ctx = context();
    CHECK(error_of(g.cluster->MemberRemove(ctx.get(), r, &resp)) ==
          (id == header.member_id ? not_enough : not_found));
  }
  {
    etcdserverpb::MemberPromoteRequest r;
    r.set_id(header.member_id);
    etcdserverpb::MemberPromoteResponse resp;
    ctx = context();
    CHECK(error_of(g.cluster->MemberPromote(ctx.get(), r, &resp)) ==
          protocol::WireError{9, "etcdserver: can only promote a learner member"});
  }

  etcdserverpb::AuthStatusResponse auth;
  ctx = context();
  REQUIRE(g.auth->AuthStatus(ctx.get(), {}, &auth).ok());
  CHECK_FALSE(auth.enabled());
  CHECK(auth.authrevision() == 1);  // etcd's auth store starts at revision 1
  CHECK(etcdapi::from_proto(auth.header()) == header);

  etcdserverpb::MoveLeaderRequest move;
  etcdserverpb::MoveLeaderResponse moved;
  move.set_targetid(header.member_id);
  ctx = context();
  CHECK(g.maintenance->MoveLeader(ctx.get(), move, &moved).ok());
  move.set_targetid(42);
  ctx = context();
  CHECK(error_of(g.maintenance->MoveLeader(ctx.get(), move, &moved)) ==
        protocol::WireError{9, "etcdserver: bad leader transferee"});
}

}  // namespace
}  // namespace revkv
