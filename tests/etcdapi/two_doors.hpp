#pragma once

// Two fresh nodes for the tests that send one sequence through both doors: one answered
// over MessagePack (`mp`), one over gRPC (`grpc`, the test's own stubs), so their answers
// can be compared without one's history leaking into the other's revisions.

#include "client/client.hpp"
#include "protocol/error.hpp"
#include "protocol/messages.hpp"
#include "tests/node/node_process.hpp"
#include "tests/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <variant>
#include <vector>

namespace revkv::testing {

// An answer of either door: the response, or the error as {code, message}.
template <class T>
using Outcome = std::variant<T, protocol::WireError>;

template <class T>
std::string describe(const Outcome<T>& o) {
  if (const auto* e = std::get_if<protocol::WireError>(&o))
    return "error " + std::to_string(e->code) + " " + e->message;
  return "response";
}

// A LeaseTimeToLive answer without what only the clock decides (a positive remaining TTL
// becomes 1) and with its keys in order: what two servers' answers share.
inline Outcome<protocol::LeaseTimeToLiveResponse> without_ttl(
    Outcome<protocol::LeaseTimeToLiveResponse> o) {
  if (auto* r = std::get_if<protocol::LeaseTimeToLiveResponse>(&o)) {
    if (r->ttl > 0) r->ttl = 1;
    std::sort(r->keys.begin(), r->keys.end());
  }
  return o;
}

// A LeaseLeases answer with the leases in id order (etcd lists them from a Go map).
inline Outcome<protocol::LeaseLeasesResponse> sorted_leases(
    Outcome<protocol::LeaseLeasesResponse> o) {
  if (auto* r = std::get_if<protocol::LeaseLeasesResponse>(&o)) {
    std::sort(r->leases.begin(), r->leases.end(),
              [](const auto& a, const auto& b) { return a.id < b.id; });
  }
  return o;
}

template <class GrpcStubs>
struct TwoDoors {
  // `grpc_flags`: more flags for the node the gRPC stubs talk to (--grpc-engine).
  explicit TwoDoors(const std::string& shards, const std::vector<std::string>& grpc_flags = {}) {
    const std::vector<std::string> flags{"--shards", shards, "--sync", "never"};
    msgpack_node = std::make_unique<NodeProcess>(dir.sub("mp"), flags);
    auto with_engine = flags;
    with_engine.insert(with_engine.end(), grpc_flags.begin(), grpc_flags.end());
    grpc_node = std::make_unique<NodeProcess>(dir.sub("grpc"), with_engine);
    client::ClientOptions o;
    o.request_timeout = std::chrono::milliseconds(10000);
    auto c = client::Client::connect(msgpack_node->endpoint(), o);
    REQUIRE(c.ok());
    mp = std::make_unique<client::Client>(std::move(c).value());
    grpc = std::make_unique<GrpcStubs>(grpc_node->grpc_endpoint());
  }

  TempDir dir;
  std::unique_ptr<NodeProcess> msgpack_node;
  std::unique_ptr<NodeProcess> grpc_node;
  std::unique_ptr<client::Client> mp;
  std::unique_ptr<GrpcStubs> grpc;
};

}  // namespace revkv::testing
