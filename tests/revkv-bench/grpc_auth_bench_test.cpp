// revkv-bench --grpc --user against a revkvd with auth enabled (docs/BENCH_TOOL.md): the
// load runs as a non-root user with a readwrite permission on the bench's keys, every call
// carries its channel's token; without --user or with a wrong password the node refuses;
// an expired token is replaced by a new login. The checks are on counts, never on rates.

#include "apps/revkv-bench/bench.hpp"
#include "apps/revkv-bench/grpc_auth.hpp"
#include "apps/revkv-bench/grpc_channels.hpp"
#include "apps/revkv-bench/grpc_load.hpp"
#include "tests/node/node_process.hpp"
#include "tests/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <etcdserverpb/rpc.grpc.pb.h>
#include <grpcpp/client_context.h>
#include <grpcpp/create_channel.h>

using namespace revkv;
using namespace revkv::bench;

namespace {

namespace pb = etcdserverpb;

Options parse(std::vector<std::string> args) {
  args.insert(args.begin(), "revkv-bench");
  auto parsed = parse_options(args);
  REQUIRE(std::holds_alternative<Options>(parsed));
  return std::get<Options>(parsed);
}

uint64_t errors(const Report& r) {
  uint64_t n = 0;
  for (const auto& s : r.ops)
    n += s.errors;
  return n;
}

template <class Call>
void ok(Call&& call) {
  grpc::ClientContext context;
  const auto status = call(context);
  INFO(status.error_message());
  REQUIRE(status.ok());
}

// root, a role `bench` with readwrite on the bench's keys ("key…"), the user `bench` with
// it, auth enabled.
void set_up_auth(const std::string& endpoint) {
  auto auth = pb::Auth::NewStub(grpc::CreateChannel(endpoint, grpc::InsecureChannelCredentials()));
  auto user_add = [&](const std::string& name, const std::string& password) {
    pb::AuthUserAddRequest r;
    r.set_name(name);
    r.set_password(password);
    pb::AuthUserAddResponse a;
    ok([&](grpc::ClientContext& c) { return auth->UserAdd(&c, r, &a); });
  };
  auto grant_role = [&](const std::string& user, const std::string& role) {
    pb::AuthUserGrantRoleRequest r;
    r.set_user(user);
    r.set_role(role);
    pb::AuthUserGrantRoleResponse a;
    ok([&](grpc::ClientContext& c) { return auth->UserGrantRole(&c, r, &a); });
  };
  user_add("root", "rootpw");
  grant_role("root", "root");
  pb::AuthRoleAddRequest role;
  role.set_name("bench");
  pb::AuthRoleAddResponse role_added;
  ok([&](grpc::ClientContext& c) { return auth->RoleAdd(&c, role, &role_added); });
  pb::AuthRoleGrantPermissionRequest perm;
  perm.set_name("bench");
  perm.mutable_perm()->set_permtype(authpb::Permission::READWRITE);
  perm.mutable_perm()->set_key("key");
  perm.mutable_perm()->set_range_end("kez");
  pb::AuthRoleGrantPermissionResponse granted;
  ok([&](grpc::ClientContext& c) { return auth->RoleGrantPermission(&c, perm, &granted); });
  user_add("bench", "benchpw");
  grant_role("bench", "bench");
  pb::AuthEnableRequest enable;
  pb::AuthEnableResponse enabled;
  ok([&](grpc::ClientContext& c) { return auth->AuthEnable(&c, enable, &enabled); });
}

// A Range of one bench key with `token`: the status.
grpc::Status range_with(const std::shared_ptr<grpc::Channel>& channel, const std::string& token) {
  auto kv = pb::KV::NewStub(channel);
  grpc::ClientContext context;
  context.AddMetadata("token", token);
  pb::RangeRequest r;
  r.set_key("key000000000001");
  pb::RangeResponse a;
  return kv->Range(&context, r, &a);
}

}  // namespace

TEST_CASE("gRPC options: --user needs --grpc and a NAME:PASSWORD") {
  CHECK(parse({"--grpc", "127.0.0.1:1", "--user", "bench:pw"}).user == "bench:pw");
  CHECK(std::get<ParseExit>(parse_options({"revkv-bench", "--user", "bench:pw"})).code == 1);
  CHECK(std::get<ParseExit>(
            parse_options({"revkv-bench", "--grpc", "127.0.0.1:1", "--user", "nocolon"}))
            .code == 1);
  CHECK(
      std::get<ParseExit>(parse_options({"revkv-bench", "--grpc", "127.0.0.1:1", "--user", ":pw"}))
          .code == 1);
  // etcdctl splits at the first colon: the password may hold more.
  const auto user = parse_user("bench:p:w");
  REQUIRE(user);
  CHECK(user->name == "bench");
  CHECK(user->password == "p:w");
}

TEST_CASE("gRPC with auth: the load runs as --user, refused without it or with a bad password",
          "[node][auth]") {
  testing::TempDir dir;
  testing::NodeProcess node(dir.sub("data"), {"--sync", "never"});
  set_up_auth(node.grpc_endpoint());

  const std::vector<std::string> load = {"--grpc",     node.grpc_endpoint(),
                                         "--clients",  "6",
                                         "--conns",    "3",
                                         "--duration", "0.5",
                                         "--keys",     "50",
                                         "--mix",      "put=1,get=1,range=1,txn=1"};
  auto with = [&](std::vector<std::string> extra) {
    auto args = load;
    args.insert(args.end(), extra.begin(), extra.end());
    return parse(args);
  };
  const auto o = with({"--user", "bench:benchpw"});
  const auto preloaded = preload_grpc(o);
  INFO(preloaded.error);
  CHECK(preloaded.error.empty());
  Report r = run_grpc(o);
  INFO(r.first_error);
  CHECK(r.failed_connections == 0);
  CHECK(errors(r) == 0);
  for (Op op : {Op::put, Op::get, Op::range, Op::txn})
    CHECK(r.ops[static_cast<std::size_t>(op)].latency.count() > 0);

  // No user: every call is refused as etcd refuses it.
  Report anonymous = run_grpc(with({}));
  CHECK(errors(anonymous) > 0);
  CHECK(anonymous.first_error == "etcdserver: user name is empty");
  // A wrong password: the login fails and so does the run, before any load.
  Report wrong = run_grpc(with({"--user", "bench:wrong"}));
  CHECK(wrong.failed_connections == 6);
  CHECK(wrong.first_error.find("authentication failed") != std::string::npos);
}

TEST_CASE("gRPC with auth: a token the node no longer knows is replaced by a new login",
          "[node][auth]") {
  testing::TempDir dir;
  testing::NodeProcess node(dir.sub("data"), {"--sync", "never"});
  set_up_auth(node.grpc_endpoint());
  const auto channels = connect_channels(node.grpc_endpoint(), 1);
  REQUIRE(channels.error.empty());
  const auto& channel = channels.channels.front();
  ChannelToken token(channel, UserPassword{"bench", "benchpw"});
  REQUIRE(token.login().empty());
  const std::string first = token.current();
  CHECK(range_with(channel, first).ok());

  // Setting bench's password (to the same one) ends its tokens, as an expiry or a restart
  // of the node would.
  ChannelToken root(channel, UserPassword{"root", "rootpw"});
  REQUIRE(root.login().empty());
  auto auth = pb::Auth::NewStub(channel);
  pb::AuthUserChangePasswordRequest change;
  change.set_name("bench");
  change.set_password("benchpw");
  pb::AuthUserChangePasswordResponse changed;
  ok([&](grpc::ClientContext& c) {
    root.attach(c);
    return auth->UserChangePassword(&c, change, &changed);
  });
  const auto refused = range_with(channel, first);
  REQUIRE(is_invalid_token(refused.error_message()));

  // The client that saw it logs in again; another that saw the same old token does not.
  REQUIRE(token.refresh(first));
  const std::string second = token.current();
  CHECK(second != first);
  CHECK(token.refresh(first));
  CHECK(token.current() == second);
  CHECK(range_with(channel, second).ok());
}
