// Authentication and RBAC side by side: the same etcdctl 3.4 session of user, role, auth
// and KV commands, with and without permission, against a real etcd 3.4 and against
// revkvd, each fresh, must print the same and exit with the same status (endpoints, ids
// and timings normalized). Tokens never show: etcdctl --user authenticates by itself.
// Skipped, not passed, where etcd or etcdctl is missing.

#include "tests/etcdapi/etcd_process.hpp"
#include "tests/etcdapi/etcdctl_run.hpp"
#include "tests/node/node_process.hpp"
#include "tests/skip.hpp"
#include "tests/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <array>
#include <cstdio>
#include <regex>
#include <string>
#include <vector>

namespace revkv {
namespace {

std::string normalize(std::string out, const std::string& endpoint) {
  // clientv3's retry interceptor logs each refused call with a timestamp and a target.
  out = std::regex_replace(out, std::regex(R"(\{"level":"warn"[^\n]*\n)"), "");
  out = std::regex_replace(out, std::regex(R"(took = [0-9.]+(µs|ms|ns|s))"), "took = T");
  size_t at = 0;
  while ((at = out.find(endpoint, at)) != std::string::npos)
    out.replace(at, endpoint.size(), "ENDPOINT");
  return out;
}

struct Step {
  std::string args;
  std::string input;
};

// A step starting with "curl " is an HTTP call to the JSON gateway instead: `args` after
// it are curl's, with ENDPOINT and {TOKEN} (the last token a call answered) replaced.
struct Side {
  std::string bin;
  std::string endpoint;
  std::string token;

  testing::Run run(const Step& step) {
    if (step.args.rfind("curl ", 0) != 0)
      return testing::etcdctl(bin, endpoint, step.args, step.input);
    std::string args = step.args.substr(5);
    for (auto [from, to] : {std::pair<std::string, std::string>{"ENDPOINT", endpoint},
                            std::pair<std::string, std::string>{"{TOKEN}", token}}) {
      for (size_t at; (at = args.find(from)) != std::string::npos;)
        args.replace(at, from.size(), to);
    }
    auto r = testing::run_shell("curl -s " + args + " 2>&1");
    std::smatch m;
    if (std::regex_search(r.out, m, std::regex(R"re("token":"([^"]+)")re"))) token = m[1];
    // Tokens and headers differ by design: a token's letters are random, ids are each
    // server's own.
    r.out = std::regex_replace(r.out, std::regex(R"("token":"[^"]+")"), R"("token":"T")");
    r.out = std::regex_replace(r.out, std::regex(R"("header":\{[^}]*\})"), R"("header":H)");
    return r;
  }
};

const std::string kRoot = "--user root:rootpw ";
const std::string kAlice = "--user alice:apw ";

}  // namespace

TEST_CASE("etcdctl 3.4 auth and RBAC answer the same from revkvd as from etcd 3.4",
          "[etcdapi][node][reference][auth]") {
  auto bin = testing::etcdctl_or_skip();
  if (bin.empty()) return;
  auto etcd_bin = testing::etcd_or_skip();
  if (etcd_bin.empty()) return;
  testing::TempDir dir;
  testing::EtcdProcess etcd(etcd_bin, dir.sub("etcd"));
  testing::NodeProcess revkvd(dir.sub("revkvd"), {"--sync", "never"});

  const std::vector<Step> steps = {
      // Setting up, auth still off.
      {"auth enable", ""},  // no root user
      {"user add root:rootpw", ""},
      {"user grant-role root root", ""},
      {"role add reader", ""},
      {"role add reader", ""},
      {"role add writer", ""},
      {"role grant-permission reader read k1", ""},
      {"role grant-permission --prefix reader read /app/", ""},
      {"role grant-permission --from-key writer readwrite m", ""},
      {"role grant-permission writer readwrite z a", ""},  // an inverted range
      {"role grant-permission nope read x", ""},
      {"role get reader", ""},
      {"role get writer", ""},
      {"role get nope", ""},
      {"user add alice:apw", ""},
      {"user add alice:again", ""},
      {"user grant-role alice reader", ""},
      {"user grant-role alice nope", ""},
      {"user grant-role ghost reader", ""},
      {"user add /app/:pw", ""},  // a user named like a key prefix
      {"user get alice", ""},
      {"user get ghost", ""},
      {"user list", ""},
      {"role list", ""},
      {"put k1 v1", ""},
      {"put /app/a 1", ""},
      {"put m1 x", ""},
      {"put z1 x", ""},
      {"auth enable", ""},
      // Auth on: who may do what.
      {"get k1", ""},
      {"put k1 v", ""},
      {"user add bob:pw", ""},
      {kAlice + "get k1", ""},
      {kAlice + "get /app/ --prefix", ""},
      {kAlice + "get k1 k3", ""},
      {kAlice + "put k1 x", ""},
      {kAlice + "del k1", ""},
      {"--user alice:wrong get k1", ""},
      {"--user ghost:pw get k1", ""},
      {"--user /app/:pw get /app/a", ""},
      {kAlice + "user list", ""},
      {kAlice + "role list", ""},
      {kAlice + "user get alice", ""},
      {kAlice + "user get root", ""},
      {kAlice + "role get reader", ""},
      {kAlice + "role get writer", ""},
      {kAlice + "user add eve:pw", ""},
      {kAlice + "auth disable", ""},
      {kAlice + "defrag", ""},
      // A refused watch is created and canceled at once, with the reason.
      {kAlice + "watch secret", ""},
      {"watch secret", ""},
      // The JSON gateway: Authorization carries the token; forged → invalid auth token.
      {"curl -X POST -d '{\"name\":\"alice\",\"password\":\"apw\"}' "
       "http://ENDPOINT/v3/auth/authenticate",
       ""},
      {"curl -X POST -H 'Authorization: {TOKEN}' -d '{\"key\":\"azE=\"}' "
       "http://ENDPOINT/v3/kv/range",
       ""},
      {"curl -X POST -H 'Authorization: {TOKEN}' -d '{\"key\":\"azI=\",\"value\":\"eA==\"}' "
       "http://ENDPOINT/v3/kv/put",
       ""},
      {"curl -X POST -H 'Authorization: forgedforgedforg.1' -d '{\"key\":\"azE=\"}' "
       "http://ENDPOINT/v3/kv/range",
       ""},
      {"curl -X POST -d '{\"key\":\"azE=\"}' http://ENDPOINT/v3/kv/range", ""},
      {kRoot + "user grant-role alice writer", ""},
      {kAlice + "put m2 y", ""},
      {kAlice + "put z1 y", ""},
      {kAlice + "get m --from-key", ""},
      {kAlice + "del m2", ""},
      {kAlice + "txn", "value(\"k1\") = \"v1\"\n\nput m3 yes\n\nput m3 no\n\n"},
      {kAlice + "txn", "value(\"k1\") = \"v1\"\n\nput m3 yes\n\nput k1 no\n\n"},
      {kAlice + "txn", "value(\"secret\") = \"v1\"\n\nput m3 yes\n\n\n"},
      {kRoot + "get --prefix ''", ""},
      {kRoot + "user delete root", ""},
      {kRoot + "role delete root", ""},
      {kRoot + "user revoke-role root root", ""},
      {kRoot + "user revoke-role alice reader", ""},
      {kRoot + "user revoke-role alice reader", ""},
      {kAlice + "get k1", ""},
      {kRoot + "role revoke-permission writer m --from-key", ""},
      {kRoot + "role revoke-permission writer nothere", ""},
      {kAlice + "put m4 y", ""},
      {kRoot + "user passwd alice --interactive=false", "newpw\n"},
      {kAlice + "get z1", ""},
      {"--user alice:newpw role get writer", ""},
      {"curl -X POST -d '{\"name\":\"alice\",\"password\":\"newpw\"}' "
       "http://ENDPOINT/v3/auth/authenticate",
       ""},
      {kRoot + "user delete alice", ""},
      {"--user alice:newpw get z1", ""},
      // The token of a deleted user names no one.
      {"curl -X POST -H 'Authorization: {TOKEN}' -d '{\"key\":\"ejE=\"}' "
       "http://ENDPOINT/v3/kv/range",
       ""},
      {kRoot + "role delete writer", ""},
      {kRoot + "role list", ""},
      {kRoot + "user list", ""},
      {kRoot + "auth disable", ""},
      // Auth off again: everyone may do everything; a --user has nothing to log in to.
      {"get k1", ""},
      {"auth disable", ""},
      {kRoot + "get k1", ""},
      {"user list", ""},
  };
  Side reference{bin, etcd.endpoint(), ""};
  Side ours{bin, revkvd.grpc_endpoint(), ""};
  for (const auto& step : steps) {
    auto expected = reference.run(step);
    auto got = ours.run(step);
    INFO("etcdctl " << step.args << "\n-- etcd:\n" << expected.out << "-- revkvd:\n" << got.out);
    CHECK(got.status == expected.status);
    CHECK(normalize(got.out, revkvd.grpc_endpoint()) == normalize(expected.out, etcd.endpoint()));
  }
}

}  // namespace revkv

namespace revkv {

// etcd 3.4's checkLeasePuts: revoking a lease, or attaching one more key to it, needs write
// permission on every key already attached. Leases with chosen ids (granted through the
// gateway, etcdctl cannot choose one) so that both servers print the same ids.
TEST_CASE("etcdctl 3.4 lease permission checks answer the same from revkvd as from etcd 3.4",
          "[etcdapi][node][reference][auth]") {
  auto bin = testing::etcdctl_or_skip();
  if (bin.empty()) return;
  auto etcd_bin = testing::etcd_or_skip();
  if (etcd_bin.empty()) return;
  testing::TempDir dir;
  testing::EtcdProcess etcd(etcd_bin, dir.sub("etcd"));
  testing::NodeProcess revkvd(dir.sub("revkvd"), {"--sync", "never"});
  const std::string bob = "--user bob:bpw ";
  const std::vector<Step> steps = {
      {"user add root:rootpw", ""},
      {"user grant-role root root", ""},
      {"role add own", ""},
      {"role grant-permission --prefix own readwrite own/", ""},
      {"user add bob:bpw", ""},
      {"user grant-role bob own", ""},
      // 1234 = 0x4d2 holds a key bob may not write; 5678 = 0x162e only his own.
      {"curl -X POST -d '{\"TTL\":300,\"ID\":1234}' http://ENDPOINT/v3/lease/grant", ""},
      {"curl -X POST -d '{\"TTL\":300,\"ID\":5678}' http://ENDPOINT/v3/lease/grant", ""},
      {"put other/k v --lease=4d2", ""},
      {"put own/a v --lease=162e", ""},
      {"auth enable", ""},
      {bob + "put own/b v --lease=4d2", ""},
      {bob + "put own/c v --lease=162e", ""},
      {bob + "lease revoke 4d2", ""},
      {bob + "lease revoke 162e", ""},
      {bob + "put own/d v --lease=270f", ""},  // no such lease
      {bob + "lease revoke 270f", ""},
      {bob + "put own/e v", ""},
      {bob + "get --prefix own/", ""},
      {kRoot + "lease revoke 4d2", ""},
      {kRoot + "get --prefix other/", ""},
  };
  Side reference{bin, etcd.endpoint(), ""};
  Side ours{bin, revkvd.grpc_endpoint(), ""};
  for (const auto& step : steps) {
    auto expected = reference.run(step);
    auto got = ours.run(step);
    INFO("etcdctl " << step.args << "\n-- etcd:\n" << expected.out << "-- revkvd:\n" << got.out);
    CHECK(got.status == expected.status);
    CHECK(normalize(got.out, revkvd.grpc_endpoint()) == normalize(expected.out, etcd.endpoint()));
  }
}

}  // namespace revkv
