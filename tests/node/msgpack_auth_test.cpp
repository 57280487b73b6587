// etcd's authentication on the MessagePack door, against a real revkvd over TCP: the Auth.*
// methods, the per-request token (params [body, {token}]), the permission checks of the
// request path with etcd's errors, and bad input (enormous names and passwords, garbage
// tokens, a token of a deleted user) answered with etcd's errors while the node keeps
// serving.

#include "client/client.hpp"
#include "protocol/codec.hpp"
#include "tests/node/node_process.hpp"
#include "tests/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

using namespace revkv;

namespace {

client::Client connect(const testing::NodeProcess& node) {
  auto c = client::Client::connect(node.endpoint());
  if (!c.ok()) FAIL("connect " << node.endpoint() << ": " << c.error().message);
  return std::move(c).value();
}

storage::RangeRequest get(std::string key, std::optional<std::string> end = std::nullopt) {
  storage::RangeRequest r;
  r.key = std::move(key);
  r.range_end = std::move(end);
  return r;
}

storage::PutRequest put(std::string key, std::string value) {
  storage::PutRequest p;
  p.key = std::move(key);
  p.value = std::move(value);
  return p;
}

protocol::AuthRoleGrantPermissionRequest grant(std::string role, protocol::PermissionType type,
                                               std::string key, std::string end = {}) {
  return {std::move(role), {type, std::move(key), std::move(end)}};
}

// code and message of a failed call, "ok" for a successful one.
template <class R>
std::string outcome(const R& r) {
  if (r.ok()) return "ok";
  return std::to_string(r.error().code) + " " + r.error().message;
}

const std::string kUserEmpty = "3 etcdserver: user name is empty";
const std::string kDenied = "7 etcdserver: permission denied";
const std::string kBadToken = "16 etcdserver: invalid auth token";
const std::string kAuthFailed = "3 etcdserver: authentication failed, invalid user ID or password";

// root:rootpw with the root role; reader may read k1 and /app/*; alice:apw is a reader.
void set_up_users(client::Client& c) {
  using T = protocol::PermissionType;
  REQUIRE(outcome(c.user_add({"root", "rootpw", {}})) == "ok");
  REQUIRE(outcome(c.user_grant_role("root", "root")) == "ok");
  REQUIRE(outcome(c.role_add("reader")) == "ok");
  REQUIRE(outcome(c.role_grant_permission(grant("reader", T::read, "k1"))) == "ok");
  REQUIRE(outcome(c.role_grant_permission(grant("reader", T::read, "/app/", "/app0"))) == "ok");
  REQUIRE(outcome(c.user_add({"alice", "apw", {}})) == "ok");
  REQUIRE(outcome(c.user_grant_role("alice", "reader")) == "ok");
}

}  // namespace

TEST_CASE("msgpack auth: users, roles and auth enable as etcd's Auth service", "[node][auth]") {
  testing::TempDir dir;
  testing::NodeProcess node(dir.sub("data"), {"--shards", "2"});
  auto c = connect(node);

  auto status = c.auth_status();
  REQUIRE(status.ok());
  CHECK_FALSE(status.value().enabled);
  CHECK(status.value().auth_revision == 1);
  CHECK(status.value().header.member_id != 0);
  // etcd refuses to enable auth before root exists.
  CHECK(outcome(c.auth_enable()) == "9 etcdserver: root user does not exist");

  set_up_users(c);
  CHECK(outcome(c.user_add({"alice", "x", {}})) == "9 etcdserver: user name already exists");
  CHECK(outcome(c.user_add({"", "x", {}})) == "3 etcdserver: user name is empty");
  CHECK(outcome(c.user_grant_role("alice", "nope")) == "9 etcdserver: role name not found");
  auto users = c.user_list();
  REQUIRE(users.ok());
  CHECK(users.value().users == std::vector<std::string>{"alice", "root"});
  auto alice = c.user_get("alice");
  REQUIRE(alice.ok());
  CHECK(alice.value().roles == std::vector<std::string>{"reader"});
  auto reader = c.role_get("reader");
  REQUIRE(reader.ok());
  REQUIRE(reader.value().perm.size() == 2);
  CHECK(reader.value().perm[0].key == "/app/");
  CHECK(reader.value().perm[0].range_end == "/app0");
  CHECK(reader.value().perm[1].key == "k1");
  auto roles = c.role_list();
  REQUIRE(roles.ok());
  // The root role need not be added to be granted, as in etcd.
  CHECK(roles.value().roles == std::vector<std::string>{"reader"});

  REQUIRE(outcome(c.put(put("k1", "v1"))) == "ok");
  REQUIRE(outcome(c.put(put("/app/a", "va"))) == "ok");
  REQUIRE(outcome(c.auth_enable()) == "ok");

  // No token: every checked request and every admin call is refused as etcd does.
  CHECK(outcome(c.range(get("k1"))) == kUserEmpty);
  CHECK(outcome(c.put(put("k1", "x"))) == kUserEmpty);
  CHECK(outcome(c.user_list()) == kUserEmpty);
  status = c.auth_status();  // needs no permission
  REQUIRE(status.ok());
  CHECK(status.value().enabled);

  // alice reads what her role allows and nothing else.
  auto a = connect(node);
  CHECK(outcome(a.authenticate("alice", "wrong")) == kAuthFailed);
  CHECK_FALSE(a.token());
  REQUIRE(outcome(a.authenticate("alice", "apw")) == "ok");
  REQUIRE(a.token());
  auto k1 = a.range(get("k1"));
  REQUIRE(k1.ok());
  REQUIRE(k1.value().response.kvs.size() == 1);
  CHECK(k1.value().response.kvs[0].value == "v1");
  CHECK(outcome(a.range(get("/app/", "/app0"))) == "ok");
  CHECK(outcome(a.range(get("k2"))) == kDenied);
  CHECK(outcome(a.put(put("k1", "x"))) == kDenied);
  CHECK(outcome(a.user_list()) == kDenied);
  CHECK(outcome(a.user_get("alice")) == "ok");  // her own record
  CHECK(outcome(a.user_get("root")) == kDenied);
  CHECK(outcome(a.role_get("reader")) == "ok");  // a role she has
  CHECK(outcome(a.role_get("root")) == kDenied);
  CHECK(outcome(a.defragment()) == "2 auth: permission denied");  // etcd 3.4's maintenance form
  storage::TxnRequest txn;
  txn.success.push_back(storage::RequestOp{get("k1")});
  txn.failure.push_back(storage::RequestOp{put("k1", "x")});
  CHECK(outcome(a.txn(txn)) == kDenied);  // both branches are checked

  // root may do everything; then turns auth off and anonymous requests pass again.
  auto r = connect(node);
  REQUIRE(outcome(r.authenticate("root", "rootpw")) == "ok");
  CHECK(outcome(r.put(put("k2", "v2"))) == "ok");
  CHECK(outcome(r.user_change_password("alice", "apw2")) == "ok");
  // A changed password ends alice's token, as etcd's.
  CHECK(outcome(a.range(get("k1"))) == kBadToken);
  CHECK(outcome(a.authenticate("alice", "apw2")) == "ok");
  CHECK(outcome(a.range(get("k1"))) == "ok");
  CHECK(outcome(r.user_revoke_role("alice", "reader")) == "ok");
  CHECK(outcome(a.range(get("k1"))) == kDenied);
  CHECK(outcome(r.role_revoke_permission({"reader", "k1", ""})) == "ok");
  CHECK(outcome(r.role_revoke_permission({"reader", "k1", ""})) ==
        "9 etcdserver: permission is not granted to the role");
  CHECK(outcome(r.role_delete("reader")) == "ok");
  CHECK(outcome(r.auth_disable()) == "ok");
  CHECK(outcome(c.range(get("k1"))) == "ok");
  status = c.auth_status();
  REQUIRE(status.ok());
  CHECK_FALSE(status.value().enabled);
}

TEST_CASE("msgpack auth: bad tokens and enormous credentials get etcd's errors", "[node][auth]") {
  testing::TempDir dir;
  testing::NodeProcess node(dir.sub("data"));
  auto c = connect(node);

  // A token that names no one is refused even with auth disabled, as etcd does; a client
  // without one is unaffected.
  c.set_token("garbage");
  CHECK(outcome(c.range(get("k"))) == kBadToken);
  CHECK(outcome(c.auth_status()) == kBadToken);
  c.set_token(std::string(1 << 20, 'x'));
  CHECK(outcome(c.range(get("k"))) == kBadToken);
  c.set_token(std::nullopt);
  CHECK(outcome(c.range(get("k"))) == "ok");

  set_up_users(c);
  REQUIRE(outcome(c.auth_enable()) == "ok");
  // Enormous names and passwords (1 MiB, under the 1.5 MiB request limit): an
  // authentication failure, not a crash or a long hash.
  std::string huge(1 << 20, 'a');
  CHECK(outcome(c.authenticate(huge, "apw")) == kAuthFailed);
  CHECK(outcome(c.authenticate("alice", huge)) == kAuthFailed);
  std::string half(700 << 10, 'a');
  CHECK(outcome(c.authenticate(half, half)) == kAuthFailed);
  // Past the request limit (1.5 MiB) the frame is refused whole, the connection kept.
  std::string too_big(1700 << 10, 'b');
  CHECK(outcome(c.authenticate("alice", too_big)) == "3 etcdserver: request is too large");
  // A body of the wrong shape names the field.
  auto bad = c.call("Auth.Authenticate", protocol::encode_to_string(storage::PutRequest{}));
  CHECK(outcome(bad) == kAuthFailed);  // unknown fields are ignored: no name, no password
  auto typed = c.call("Auth.UserAdd", std::string("\x81\xa4name\x05", 7));  // {name: 5}
  CHECK(outcome(typed) == "3 revkv: bad request: name: expected bytes");

  // A token of a deleted user is invalid from then on.
  auto a = connect(node);
  REQUIRE(outcome(a.authenticate("alice", "apw")) == "ok");
  CHECK(outcome(a.range(get("k1"))) == "ok");
  auto r = connect(node);
  REQUIRE(outcome(r.authenticate("root", "rootpw")) == "ok");
  REQUIRE(outcome(r.user_delete("alice")) == "ok");
  CHECK(outcome(a.range(get("k1"))) == kBadToken);
  CHECK(outcome(a.user_get("alice")) == kBadToken);
  // A user re-added under the same name does not revive the old token.
  REQUIRE(outcome(r.user_add({"alice", "apw", {}})) == "ok");
  CHECK(outcome(a.range(get("k1"))) == kBadToken);

  // The node still serves.
  CHECK(outcome(r.put(put("after", "x"))) == "ok");
  CHECK(outcome(r.range(get("after"))) == "ok");
}

TEST_CASE("msgpack auth: pipelined password checks do not hold other clients' requests",
          "[node][auth]") {
  testing::TempDir dir;
  testing::NodeProcess node(dir.sub("data"));
  auto c = connect(node);
  set_up_users(c);
  REQUIRE(outcome(c.auth_enable()) == "ok");
  REQUIRE(outcome(c.authenticate("root", "rootpw")) == "ok");
  // Two connections (as many as the node's scheduler threads) each pipeline 30
  // Authenticates with a wrong password: each a bcrypt check of tens of ms. They run on
  // the node's auth runner, off the scheduler: another client's read is answered at once.
  // When each door ran its calls itself, the two batches held both scheduler threads and
  // the read waited for one of them to end (all 60 answered by then, in practice).
  constexpr int kEach = 30;
  std::vector<client::Client> flooders;
  for (int i = 0; i < 2; ++i) {
    flooders.push_back(connect(node));
    for (int n = 0; n < kEach; ++n)
      flooders.back().queue(
          "Auth.Authenticate",
          protocol::encode_to_string(protocol::AuthNamePasswordRequest{"root", "wrong"}));
    REQUIRE(flooders.back().flush().ok());
  }
  REQUIRE(outcome(c.range(get("k1"))) == "ok");
  // How many checks were answered by then (those already on their way, give or take).
  int answered = 0;
  for (auto& f : flooders) {
    f.set_request_timeout(std::chrono::milliseconds(1));
    while (f.next_response().ok())
      ++answered;
  }
  CHECK(answered < kEach);
  // Every check is answered all the same, in order, with etcd's error.
  auto late = connect(node);
  CHECK(outcome(late.authenticate("root", "wrong")) == kAuthFailed);
}

TEST_CASE(
    "msgpack auth: connections take turns on the auth runner, and a closed connection's "
    "calls are dropped",
    "[node][auth]") {
  testing::TempDir dir;
  testing::NodeProcess node(dir.sub("data"));
  // Each UserAdd hashes its password with bcrypt: tens of ms on the runner.
  auto queue_user_adds = [](client::Client& c, const std::string& prefix, int n) {
    for (int i = 0; i < n; ++i)
      c.queue("Auth.UserAdd", protocol::encode_to_string(protocol::AuthUserAddRequest{
                                  prefix + std::to_string(i), "pw", {}}));
    REQUIRE(c.flush().ok());
  };
  constexpr int kPipelined = 100;

  // A connection that pipelines 100 makes another's one wait for about one of them, not
  // for all 100 (in turn order, as before the turns, it would be answered after them).
  auto other = connect(node);
  {
    auto pipelining = connect(node);
    queue_user_adds(pipelining, "a", kPipelined);
    REQUIRE(outcome(other.user_add({"b", "pw", {}})) == "ok");
    auto listed = other.user_list();
    REQUIRE(listed.ok());
    const auto& users = listed.value().users;
    const auto before_b = std::count_if(users.begin(), users.end(),
                                        [](const std::string& u) { return u.starts_with("a"); });
    INFO("users the pipelining connection had added: " << before_b);
    CHECK(before_b < kPipelined / 2);
  }  // (its calls in order: "pipelined password checks" above)

  // A connection that pipelines 100 and closes: the runner drops what it had not run yet.
  {
    auto leaving = connect(node);
    queue_user_adds(leaving, "c", kPipelined);
  }
  // Each call of this client's takes a turn after at most one of the closed connection's:
  // had they all been kept, all 100 would have run by the last of these.
  std::vector<std::string> users;
  for (int i = 0; i < kPipelined; ++i) {
    auto listed = other.user_list();
    REQUIRE(listed.ok());
    users = listed.value().users;
  }
  const auto added = std::count_if(users.begin(), users.end(),
                                   [](const std::string& u) { return u.starts_with("c"); });
  INFO("users the closed connection added: " << added);
  CHECK(added < kPipelined / 2);
}
