#pragma once

// What a follower does with the caller's token (docs/CLUSTER.md "Forwarding", "Identity"),
// checked the same way on a plaintext cluster with simple tokens and on a TLS cluster with
// JWTs.

#include "client/client.hpp"
#include "tests/cluster/revkvd_cluster.hpp"

#include <catch2/catch.hpp>

#include <optional>
#include <string>

namespace revkv::testing {

// On `cluster` (auth off, `leader` leads): auth enabled with root and a reader; root's token
// writes through `follower` and the leader holds the value at the answered revision; the
// reader's token reads through the follower and its write is the leader's `permission
// denied`; a request without a token is not forwarded (`not leader`: on a TLS cluster the
// leader would see the follower's certificate as the caller); `forged_token` is refused by
// the leader. Returns root's token.
inline std::optional<std::string> require_token_forwarding(Cluster& cluster, size_t leader,
                                                           size_t follower,
                                                           const std::string& forged_token) {
  auto l = cluster.connect(leader);
  auto tokens = enable_auth_with_root_and_reader(l);
  auto put_of = [](const std::string& key, const std::string& value) {
    storage::PutRequest p;
    p.key = key;
    p.value = value;
    return p;
  };
  auto f = cluster.connect(follower);
  f.set_token(tokens.root_token);
  std::optional<int64_t> revision;
  REQUIRE(eventually([&] {
    auto put = f.put(put_of("a1", "by-root"));
    if (put.ok()) revision = put.value().response.revision;
    return put.ok();
  }));
  // Read on the leader with root's token at the follower's revision: the leader answered
  // the forwarded write once it was applied there.
  l.set_token(tokens.root_token);
  storage::RangeRequest at;
  at.key = "a1";
  at.revision = *revision;
  auto on_leader = l.range(at);
  REQUIRE(on_leader.ok());
  REQUIRE(on_leader.value().response.kvs.size() == 1);
  CHECK(on_leader.value().response.kvs[0].value == "by-root");

  f.set_token(tokens.reader_token);
  storage::RangeRequest r;
  r.key = "a1";
  auto read = f.range(r);
  REQUIRE(read.ok());
  REQUIRE(read.value().response.kvs.size() == 1);
  auto denied = f.put(put_of("a2", "by-reader"));
  REQUIRE_FALSE(denied.ok());
  CHECK(denied.error().message == "etcdserver: permission denied");

  f.set_token(std::nullopt);
  auto anonymous = f.put(put_of("a3", "nobody"));
  REQUIRE_FALSE(anonymous.ok());
  CHECK(anonymous.error().code == 14);
  CHECK(anonymous.error().message == "etcdserver: not leader");

  f.set_token(forged_token);
  auto forged = f.put(put_of("a4", "forged"));
  REQUIRE_FALSE(forged.ok());
  CHECK(forged.error().message == "etcdserver: invalid auth token");
  return tokens.root_token;
}

}  // namespace revkv::testing
