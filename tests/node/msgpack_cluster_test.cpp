// etcd's Cluster service and Maintenance.MoveLeader on the MessagePack door of a single node
// (no --initial-cluster), against a real revkvd over TCP: the same answers as the gRPC door
// gives there (tests/etcdapi/lease_maintenance_grpc_test.cpp), since both doors run one
// implementation (actors/cluster_api.hpp), and bad bodies answered as bad requests while
// the connection keeps serving. The cluster-mode answers are in
// tests/cluster/msgpack_membership_test.cpp.

#include "client/client.hpp"
#include "tests/node/node_process.hpp"
#include "tests/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <msgpack.hpp>
#include <string>

using namespace revkv;

namespace {

// code and message of a failed call, "ok" for a successful one.
template <class R>
std::string outcome(const R& r) {
  if (r.ok()) return "ok";
  return std::to_string(r.error().code) + " " + r.error().message;
}

const std::string kNotEnough =
    "2 etcdserver: re-configuration failed due to not enough started members";
const std::string kNotFound = "5 etcdserver: member not found";

// A body {name: value} encoded by hand, to send what the typed calls cannot.
template <class T>
std::string body_with(const std::string& name, const T& value) {
  msgpack::sbuffer out;
  msgpack::packer<msgpack::sbuffer> pk(out);
  pk.pack_map(1);
  pk.pack(name);
  pk.pack(value);
  return std::string(out.data(), out.size());
}

}  // namespace

TEST_CASE("msgpack cluster: a single node answers Cluster and MoveLeader as a one-member etcd",
          "[node]") {
  testing::TempDir dir;
  testing::NodeProcess node(dir.sub("data"), {"--sync", "never"});
  auto connected = client::Client::connect(node.endpoint());
  REQUIRE(connected.ok());
  auto& c = connected.value();
  auto header = c.status().value().header;

  auto list = c.member_list();
  REQUIRE(list.ok());
  CHECK(list.value().header.member_id == header.member_id);
  CHECK(list.value().header.cluster_id == header.cluster_id);
  REQUIRE(list.value().members.size() == 1);
  const auto& self = list.value().members[0];
  CHECK(self.id == header.member_id);
  CHECK(self.name == "default");
  CHECK(self.peer_urls.empty());
  // The MessagePack door's own URL: what a MessagePack client dials.
  CHECK(self.client_urls == std::vector<std::string>{"http://" + node.endpoint()});
  CHECK_FALSE(self.is_learner);

  CHECK(outcome(c.member_add({{"http://127.0.0.1:2380"}, false})) == kNotEnough);
  CHECK(outcome(c.member_add({{"http://127.0.0.1:2380"}, true})) == kNotEnough);
  CHECK(outcome(c.member_add({{}, false})) == "3 etcdserver: given member URLs are invalid");
  CHECK(outcome(c.member_add({{"127.0.0.1:2380"}, false})) ==
        "3 etcdserver: given member URLs are invalid");
  CHECK(outcome(c.member_remove(header.member_id)) == kNotEnough);
  CHECK(outcome(c.member_remove(12345)) == kNotFound);
  CHECK(outcome(c.member_update({header.member_id, {"http://127.0.0.1:2381"}})) == kNotEnough);
  CHECK(outcome(c.member_update({12345, {"http://127.0.0.1:2381"}})) == kNotFound);
  CHECK(outcome(c.member_promote(header.member_id)) ==
        "9 etcdserver: can only promote a learner member");
  CHECK(outcome(c.member_promote(12345)) == kNotFound);

  auto moved = c.move_leader(header.member_id);  // it leads already
  REQUIRE(moved.ok());
  CHECK(moved.value().header.member_id == header.member_id);
  CHECK(outcome(c.move_leader(42)) == "9 etcdserver: bad leader transferee");

  // Bad bodies: the codec's errors, and the connection stays usable.
  auto bad = c.call("Cluster.MemberRemove", body_with("ID", std::string("x")));
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().code == 3);
  CHECK(bad.error().message.rfind("revkv: bad request: ID: ", 0) == 0);
  bad = c.call("Maintenance.MoveLeader", body_with("targetID", -1));
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message == "revkv: bad request: targetID: expected a non-negative integer");
  bad = c.call("Cluster.MemberAdd", body_with("peerURLs", 7));
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message == "revkv: bad request: peerURLs: expected an array");
  bad = c.call("Cluster.MemberLister", body_with("x", 1));
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().code == 12);
  CHECK(c.member_list().ok());
}
