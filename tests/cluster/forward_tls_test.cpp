// Forwarding when the client doors speak TLS (docs/CLUSTER.md "Forwarding", docs/SECURITY.md):
// every member runs --cert-file/--key-file/--trusted-ca-file --client-cert-auth with the
// certificates of docs/SECURITY.md's commands; a follower connects to the leader's door with
// its own certificate and relays etcdctl's and the MessagePack client's requests; with JWT
// tokens and auth on, the caller's token travels and the leader decides. Skipped, not
// passed, without openssl or etcdctl.

#include "client/client.hpp"
#include "tests/cluster/revkvd_cluster.hpp"
#include "tests/cluster/token_forwarding.hpp"
#include "tests/etcdapi/etcdctl_run.hpp"
#include "tests/security_doc.hpp"
#include "tests/skip.hpp"
#include "tests/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

using namespace revkv;
using testing::Cluster;
using testing::eventually;
using testing::put_of;
using testing::value_at;

namespace {

// docs/SECURITY.md's CA, member ("server") and client certificates, and the JWT keys, in
// `dir`. False (skipped) without openssl.
bool make_certs(const testing::TempDir& dir) {
  if (testing::run_shell("command -v openssl >/dev/null").status != 0) {
    testing::report_skipped("openssl not installed (scripts/setup)");
    return false;
  }
  for (const char* block : {"tls-setup", "jwt-setup"}) {
    auto made =
        testing::run_shell("cd " + dir.str() + " && bash -euo pipefail -c " +
                           testing::shell_quoted(testing::security_doc_block(block)) + " 2>&1");
    INFO(made.out);
    REQUIRE(made.status == 0);
  }
  return true;
}

std::vector<std::string> tls_flags(const testing::TempDir& dir) {
  return {"--cert-file",       dir.sub("server.crt"), "--key-file",        dir.sub("server.key"),
          "--trusted-ca-file", dir.sub("ca.crt"),     "--client-cert-auth"};
}

client::ClientOptions tls_client(const testing::TempDir& dir) {
  client::ClientOptions o;
  o.request_timeout = std::chrono::seconds(10);
  o.tls.enabled = true;
  o.tls.ca_file = dir.sub("ca.crt");
  o.tls.cert_file = dir.sub("client.crt");
  o.tls.key_file = dir.sub("client.key");
  return o;
}

}  // namespace

TEST_CASE("forwarding over TLS: etcdctl and the MessagePack client through a follower",
          "[cluster][process][tls]") {
  auto bin = testing::etcdctl_or_skip();
  if (bin.empty()) return;
  testing::TempDir certs;
  if (!make_certs(certs)) return;
  Cluster cluster(3, tls_flags(certs));
  cluster.set_client_options(tls_client(certs));
  auto leader = cluster.find_leader(std::chrono::seconds(20));
  REQUIRE(leader);
  const size_t follower = (*leader + 1) % cluster.size();

  // etcdctl with a follower-only https endpoint and a client certificate.
  const std::string tls = "--cacert " + certs.sub("ca.crt") + " --cert " + certs.sub("client.crt") +
                          " --key " + certs.sub("client.key") + " ";
  auto ctl = [&](const std::string& args, const std::string& input = "") {
    return testing::etcdctl(bin, "https://" + cluster.member(follower).grpc_endpoint(), tls + args,
                            input);
  };
  // Until the leader has published its addresses the follower answers "not leader".
  std::string last;
  bool put = eventually([&] {
    auto run = ctl("put t1 one");
    last = run.out;
    return run.status == 0;
  });
  INFO(last << "\nthe leader's log:\n" << cluster.log(*leader));
  REQUIRE(put);
  auto txn = ctl("txn", "value(\"t1\") = \"one\"\n\nput t2 two\n\nput t2 never\n\n");
  CAPTURE(txn.out);
  CHECK(txn.out.find("SUCCESS") != std::string::npos);
  auto get = ctl("get t2 --print-value-only");
  CAPTURE(get.out);
  CHECK(get.out == "two\n");

  // The MessagePack door of the same follower, over TLS: a write and a linearizable read.
  auto f = cluster.connect(follower);
  auto put_t3 = f.put(put_of("t3", "three"));
  REQUIRE(put_t3.ok());
  const int64_t revision = put_t3.value().response.revision;
  storage::RangeRequest r;
  r.key = "t3";
  auto read = f.range(r);
  REQUIRE(read.ok());
  REQUIRE(read.value().response.kvs.size() == 1);
  CHECK(read.value().response.kvs[0].value == "three");
  // The leader holds the same at the same revision.
  CHECK(value_at(cluster, *leader, "t3", revision) == "three");
  CHECK(value_at(cluster, *leader, "t2", revision) == "two");
}

TEST_CASE("forwarding over TLS with JWT tokens: the caller's token travels, the leader decides",
          "[cluster][process][tls][auth]") {
  testing::TempDir certs;
  if (!make_certs(certs)) return;
  auto flags = tls_flags(certs);
  flags.insert(flags.end(),
               {"--auth-token", "jwt,sign-method=ES256,priv-key=" + certs.sub("jwt.key") +
                                    ",pub-key=" + certs.sub("jwt.pub") + ",ttl=5m"});
  Cluster cluster(3, flags);
  cluster.set_client_options(tls_client(certs));
  auto leader = cluster.find_leader(std::chrono::seconds(20));
  REQUIRE(leader);
  const size_t follower = (*leader + 1) % cluster.size();

  // A forged JWT: signed with another key.
  auto root_token = testing::require_token_forwarding(
      cluster, *leader, follower, "eyJhbGciOiJFUzI1NiJ9.eyJ1c2VybmFtZSI6InJvb3QifQ.c2ln");
  REQUIRE(root_token);
  CHECK(std::count(root_token->begin(), root_token->end(), '.') == 2);  // a JWT
}
