// Auth in a 3-member revkvd cluster (docs/SECURITY.md "Replication"): every auth change and
// every token Authenticate assigns is a Raft entry every member applies, so a follower
// enforces the leader's users, roles and permissions on its serializable reads and accepts
// the leader's tokens; followers forward auth changes and Authenticate to the leader (a
// token-less change only while auth is off); a restarted member
// keeps the state. With --auth-token jwt the leader signs tokens without a log entry and
// every member verifies them with the key.

#include "tests/cluster/revkvd_cluster.hpp"
#include "tests/skip.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <etcdserverpb/rpc.grpc.pb.h>
#include <functional>
#include <grpcpp/grpcpp.h>
#include <memory>
#include <optional>
#include <string>
#include <thread>

using namespace revkv;
using Clock = std::chrono::steady_clock;
using testing::Cluster;
using testing::eventually;

namespace {

// etcd's Auth and KV services of one member over gRPC, with an optional token.
class Member {
 public:
  explicit Member(const std::string& endpoint)
      : channel_(grpc::CreateChannel(endpoint, grpc::InsecureChannelCredentials())),
        auth_(etcdserverpb::Auth::NewStub(channel_)),
        kv_(etcdserverpb::KV::NewStub(channel_)) {}

  std::optional<std::string> token;

  template <class Req, class Resp, class Stub>
  grpc::Status call(Stub& stub,
                    grpc::Status (Stub::element_type::*method)(grpc::ClientContext*, const Req&,
                                                               Resp*),
                    const Req& req, Resp& resp) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    if (token) ctx.AddMetadata("token", *token);
    return ((*stub).*method)(&ctx, req, &resp);
  }

  grpc::Status role_add(const std::string& name) {
    etcdserverpb::AuthRoleAddRequest r;
    r.set_name(name);
    etcdserverpb::AuthRoleAddResponse resp;
    return call(auth_, &etcdserverpb::Auth::Stub::RoleAdd, r, resp);
  }
  grpc::Status grant_read(const std::string& role, const std::string& key, const std::string& end) {
    etcdserverpb::AuthRoleGrantPermissionRequest r;
    r.set_name(role);
    r.mutable_perm()->set_permtype(authpb::Permission::READ);
    r.mutable_perm()->set_key(key);
    r.mutable_perm()->set_range_end(end);
    etcdserverpb::AuthRoleGrantPermissionResponse resp;
    return call(auth_, &etcdserverpb::Auth::Stub::RoleGrantPermission, r, resp);
  }
  grpc::Status user_add(const std::string& name, const std::string& password) {
    etcdserverpb::AuthUserAddRequest r;
    r.set_name(name);
    r.set_password(password);
    etcdserverpb::AuthUserAddResponse resp;
    return call(auth_, &etcdserverpb::Auth::Stub::UserAdd, r, resp);
  }
  grpc::Status grant_role(const std::string& user, const std::string& role) {
    etcdserverpb::AuthUserGrantRoleRequest r;
    r.set_user(user);
    r.set_role(role);
    etcdserverpb::AuthUserGrantRoleResponse resp;
    return call(auth_, &etcdserverpb::Auth::Stub::UserGrantRole, r, resp);
  }
  grpc::Status change_password(const std::string& user, const std::string& password) {
    etcdserverpb::AuthUserChangePasswordRequest r;
    r.set_name(user);
    r.set_password(password);
    etcdserverpb::AuthUserChangePasswordResponse resp;
    return call(auth_, &etcdserverpb::Auth::Stub::UserChangePassword, r, resp);
  }
  grpc::Status enable() {
    etcdserverpb::AuthEnableRequest r;
    etcdserverpb::AuthEnableResponse resp;
    return call(auth_, &etcdserverpb::Auth::Stub::AuthEnable, r, resp);
  }
  grpc::Status status(etcdserverpb::AuthStatusResponse& resp) {
    etcdserverpb::AuthStatusRequest r;
    return call(auth_, &etcdserverpb::Auth::Stub::AuthStatus, r, resp);
  }
  grpc::Status authenticate(const std::string& name, const std::string& password,
                            std::string& token_out) {
    etcdserverpb::AuthenticateRequest r;
    r.set_name(name);
    r.set_password(password);
    etcdserverpb::AuthenticateResponse resp;
    auto s = call(auth_, &etcdserverpb::Auth::Stub::Authenticate, r, resp);
    token_out = resp.token();
    return s;
  }
  grpc::Status put(const std::string& key, const std::string& value) {
    etcdserverpb::PutRequest r;
    r.set_key(key);
    r.set_value(value);
    etcdserverpb::PutResponse resp;
    return call(kv_, &etcdserverpb::KV::Stub::Put, r, resp);
  }
  // A serializable read of `key`: its value in `value` when found.
  grpc::Status get(const std::string& key, std::string& value) {
    etcdserverpb::RangeRequest r;
    r.set_key(key);
    r.set_serializable(true);
    etcdserverpb::RangeResponse resp;
    auto s = call(kv_, &etcdserverpb::KV::Stub::Range, r, resp);
    value = resp.kvs_size() > 0 ? resp.kvs(0).value() : std::string();
    return s;
  }

 private:
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<etcdserverpb::Auth::Stub> auth_;
  std::unique_ptr<etcdserverpb::KV::Stub> kv_;
};

// Member i's serializable read of `key` with `token` answers OK and `value`.
bool reads(Cluster& cluster, size_t i, const std::string& token, const std::string& key,
           const std::string& value) {
  Member m(cluster.member(i).grpc_endpoint());
  m.token = token;
  std::string got;
  return m.get(key, got).ok() && got == value;
}

// Every running member reports auth enabled at `revision`.
bool same_auth_status(Cluster& cluster, uint64_t revision) {
  for (size_t i = 0; i < cluster.size(); ++i) {
    if (!cluster.running(i)) continue;
    Member m(cluster.member(i).grpc_endpoint());
    etcdserverpb::AuthStatusResponse s;
    if (!m.status(s).ok() || !s.enabled() || s.authrevision() != revision) return false;
  }
  return true;
}

}  // namespace

TEST_CASE("revkvd cluster: auth changes and tokens from the leader hold on every member",
          "[cluster][process][auth]") {
  Cluster cluster(3);
  auto leader_index = cluster.find_leader(std::chrono::seconds(20));
  REQUIRE(leader_index);
  size_t follower = (*leader_index + 1) % cluster.size();
  Member leader(cluster.member(*leader_index).grpc_endpoint());

  REQUIRE(leader.put("a1", "readable").ok());
  REQUIRE(leader.put("z1", "secret").ok());
  REQUIRE(leader.role_add("reader").ok());
  REQUIRE(leader.grant_read("reader", "a", "b").ok());
  REQUIRE(leader.user_add("root", "rootpw").ok());
  REQUIRE(leader.grant_role("root", "root").ok());
  REQUIRE(leader.user_add("alice", "alicepw").ok());
  REQUIRE(leader.grant_role("alice", "reader").ok());
  REQUIRE(leader.user_add("bob", "bobpw").ok());

  // A follower forwards a change to the leader (before auth is on: no token needed), and
  // relays the leader's own refusals.
  Member f(cluster.member(follower).grpc_endpoint());
  CHECK(eventually([&] { return f.role_add("other").ok(); }));
  auto twice = f.role_add("other");
  CHECK(twice.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  CHECK(twice.error_message() == "etcdserver: role name already exists");

  REQUIRE(leader.enable().ok());
  etcdserverpb::AuthStatusResponse leader_status;
  leader.token.reset();
  REQUIRE(leader.status(leader_status).ok());
  CHECK(leader_status.enabled());
  uint64_t revision = leader_status.authrevision();
  CHECK(revision > 1);
  CHECK(eventually([&] { return same_auth_status(cluster, revision); }));

  // Tokens are assigned by the leader, through the log.
  std::string alice, bob, root;
  REQUIRE(leader.authenticate("alice", "alicepw", alice).ok());
  REQUIRE(leader.authenticate("bob", "bobpw", bob).ok());
  REQUIRE(leader.authenticate("root", "rootpw", root).ok());
  std::string ignored;
  // Authenticate on a follower is forwarded; the follower answers once it applied the
  // token's grant, so the token works there at once (as etcd's member waits for its apply).
  std::string alice_by_follower;
  REQUIRE(f.authenticate("alice", "alicepw", alice_by_follower).ok());
  CHECK(alice_by_follower != alice);
  CHECK(reads(cluster, follower, alice_by_follower, "a1", "readable"));
  auto wrong = f.authenticate("alice", "nope", ignored);
  CHECK(wrong.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(wrong.error_message() == "etcdserver: authentication failed, invalid user ID or password");

  // The follower serves alice's authorized read with the leader's token ...
  CHECK(eventually([&] { return reads(cluster, follower, alice, "a1", "readable"); }));
  // ... and refuses what her role does not cover, and bob (no role) altogether.
  f.token = alice;
  auto denied = f.get("z1", ignored);
  CHECK(denied.error_code() == grpc::StatusCode::PERMISSION_DENIED);
  CHECK(denied.error_message() == "etcdserver: permission denied");
  f.token = bob;
  CHECK(eventually(
      [&] { return f.get("a1", ignored).error_message() == "etcdserver: permission denied"; }));
  // Without a token, as etcd.
  f.token.reset();
  CHECK(f.get("a1", ignored).error_message() == "etcdserver: user name is empty");
  // Root's token travels with a change the follower forwards; without a token (auth on)
  // the follower does not forward it (on the leader it would run as this member's
  // certificate: docs/CLUSTER.md "Forwarding", identity) and its own admin check answers.
  f.token.reset();
  auto tokenless = f.user_add("carol", "pw");
  CHECK(tokenless.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(tokenless.error_message() == "etcdserver: user name is empty");
  f.token = root;
  CHECK(f.user_add("carol", "pw").ok());
  f.token = alice;
  auto not_root = f.user_add("dave", "pw");
  CHECK(not_root.error_code() == grpc::StatusCode::PERMISSION_DENIED);
  CHECK(not_root.error_message() == "etcdserver: permission denied");

  // A new password ends alice's tokens on every member.
  leader.token = root;
  REQUIRE(leader.change_password("alice", "newpw").ok());
  f.token = alice;
  CHECK(eventually([&] {
    auto s = f.get("a1", ignored);
    return s.error_code() == grpc::StatusCode::UNAUTHENTICATED &&
           s.error_message() == "etcdserver: invalid auth token";
  }));
  leader.token.reset();
  REQUIRE(leader.status(leader_status).ok());
  revision = leader_status.authrevision();
  CHECK(eventually([&] { return same_auth_status(cluster, revision); }));

  // A restarted follower keeps the state (its store and the Raft log) and enforces it.
  REQUIRE(cluster.stop(follower, std::chrono::seconds(20)) == 0);
  cluster.start(follower);
  CHECK(eventually([&] { return same_auth_status(cluster, revision); }));
  Member restarted(cluster.member(follower).grpc_endpoint());
  CHECK(restarted.get("a1", ignored).error_message() == "etcdserver: user name is empty");
  std::string fresh;
  REQUIRE(eventually([&] { return leader.authenticate("alice", "newpw", fresh).ok(); }));
  CHECK(eventually([&] { return reads(cluster, follower, fresh, "a1", "readable"); }));
  restarted.token = fresh;
  CHECK(restarted.get("z1", ignored).error_message() == "etcdserver: permission denied");
}

TEST_CASE("revkvd cluster: JWT tokens signed by the leader are verified by every member",
          "[cluster][process][auth][jwt]") {
  // One key for every member (docs/SECURITY.md "JWT tokens", cluster mode).
  testing::TempDir keys;
  std::string make = "cd '" + keys.str() +
                     "' && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:prime256v1 "
                     "-out jwt.key >/dev/null 2>&1 && openssl pkey -in jwt.key -pubout -out "
                     "jwt.pub >/dev/null 2>&1";
  if (std::system(make.c_str()) != 0) {
    testing::report_skipped("no openssl command");
    return;
  }
  Cluster cluster(3, {"--auth-token", "jwt,sign-method=ES256,priv-key=" + keys.sub("jwt.key") +
                                          ",pub-key=" + keys.sub("jwt.pub") + ",ttl=5m"});
  auto leader_index = cluster.find_leader(std::chrono::seconds(20));
  REQUIRE(leader_index);
  size_t follower = (*leader_index + 1) % cluster.size();
  Member leader(cluster.member(*leader_index).grpc_endpoint());
  REQUIRE(leader.put("a1", "readable").ok());
  REQUIRE(leader.put("z1", "secret").ok());
  REQUIRE(leader.role_add("reader").ok());
  REQUIRE(leader.grant_read("reader", "a", "b").ok());
  REQUIRE(leader.user_add("root", "rootpw").ok());
  REQUIRE(leader.grant_role("root", "root").ok());
  REQUIRE(leader.user_add("alice", "alicepw").ok());
  REQUIRE(leader.grant_role("alice", "reader").ok());
  REQUIRE(leader.enable().ok());
  etcdserverpb::AuthStatusResponse status;
  REQUIRE(leader.status(status).ok());
  CHECK(eventually([&] { return same_auth_status(cluster, status.authrevision()); }));

  // The leader signs; a follower forwards Authenticate to it.
  std::string alice, root, ignored;
  REQUIRE(leader.authenticate("alice", "alicepw", alice).ok());
  REQUIRE(leader.authenticate("root", "rootpw", root).ok());
  CHECK(alice.rfind("eyJ", 0) == 0);  // a JWT: base64url of {"alg":...
  CHECK(std::count(alice.begin(), alice.end(), '.') == 2);
  Member f(cluster.member(follower).grpc_endpoint());
  std::string alice_by_follower;
  REQUIRE(f.authenticate("alice", "alicepw", alice_by_follower).ok());
  CHECK(alice_by_follower.rfind("eyJ", 0) == 0);
  CHECK(eventually([&] { return reads(cluster, follower, alice_by_follower, "a1", "readable"); }));

  // Every member verifies it with the key alone.
  for (size_t i = 0; i < cluster.size(); ++i)
    CHECK(eventually([&] { return reads(cluster, i, alice, "a1", "readable"); }));
  f.token = alice;
  CHECK(f.get("z1", ignored).error_message() == "etcdserver: permission denied");
  f.token = alice + "x";
  CHECK(f.get("a1", ignored).error_message() == "etcdserver: invalid auth token");

  // Stateless: a restarted follower accepts the token it never saw issued.
  REQUIRE(cluster.stop(follower, std::chrono::seconds(20)) == 0);
  cluster.start(follower);
  CHECK(eventually([&] { return reads(cluster, follower, alice, "a1", "readable"); }));

  // An auth change makes it old on every member, once applied there (etcd 3.4's rule).
  leader.token = root;
  REQUIRE(leader.grant_read("reader", "z", "{").ok());
  for (size_t i = 0; i < cluster.size(); ++i) {
    Member m(cluster.member(i).grpc_endpoint());
    m.token = alice;
    CHECK(eventually([&] {
      auto s = m.get("a1", ignored);
      return s.error_code() == grpc::StatusCode::INVALID_ARGUMENT &&
             s.error_message() == "etcdserver: revision of auth store is old";
    }));
  }
  std::string fresh;
  REQUIRE(leader.authenticate("alice", "alicepw", fresh).ok());
  CHECK(eventually([&] { return reads(cluster, follower, fresh, "z1", "secret"); }));
}
