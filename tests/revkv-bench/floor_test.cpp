// revkv-floor's two servers (apps/revkv-floor) answer etcd's KV.Range to gRPC's own client
// as a gRPC server must: every call on several channels at once gets the fixed response,
// a request larger than HTTP/2's flow-control windows is taken in full, another method is
// Unimplemented; and revkv-bench's get load runs against them without an error. Counts,
// never rates.

#include "apps/revkv-bench/bench.hpp"
#include "apps/revkv-bench/grpc_load.hpp"
#include "apps/revkv-floor/floor_response.hpp"
#include "apps/revkv-floor/grpc_floor.hpp"
#include "apps/revkv-floor/http2_floor.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <etcdserverpb/rpc.grpc.pb.h>
#include <grpcpp/grpcpp.h>
#include <memory>
#include <string>
#include <thread>
#include <vector>

using namespace revkv;

namespace {

std::unique_ptr<etcdserverpb::KV::Stub> stub(uint16_t port, int channel) {
  // A channel argument of its own per channel: gRPC would otherwise share one connection.
  grpc::ChannelArguments args;
  args.SetInt("revkv.floor-test.channel", channel);
  args.SetMaxReceiveMessageSize(-1);
  return etcdserverpb::KV::NewStub(grpc::CreateCustomChannel(
      "127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials(), args));
}

// `threads` threads, each on its own channel, make `calls` Range calls each; returns how
// many answers were exactly the floor's response.
int ranges_answered(uint16_t port, int threads, int calls, const std::string& key) {
  etcdserverpb::RangeResponse expected;
  REQUIRE(expected.ParseFromString(floor::range_response()));
  std::atomic<int> right{0};
  std::vector<std::jthread> clients;
  for (int t = 0; t < threads; ++t) {
    clients.emplace_back([&, t] {
      auto kv = stub(port, t);
      for (int i = 0; i < calls; ++i) {
        grpc::ClientContext context;
        context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
        etcdserverpb::RangeRequest request;
        request.set_key(key);
        etcdserverpb::RangeResponse response;
        if (kv->Range(&context, request, &response).ok() &&
            response.SerializeAsString() == floor::range_response())
          ++right;
      }
    });
  }
  clients.clear();  // joined
  return right.load();
}

template <class Server>
void check_floor(bool hop) {
  Server server(0, hop);
  REQUIRE(server.port() != 0);
  CHECK(ranges_answered(server.port(), 4, 200, "k") == 800);
  // 3 MiB: past HTTP/2's default 64 KiB windows and the server's 1 MiB one, so the
  // request arrives only if the server keeps opening its windows as it takes the bytes.
  CHECK(ranges_answered(server.port(), 2, 3, std::string(3 << 20, 'k')) == 6);

  auto kv = stub(server.port(), 99);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  etcdserverpb::PutRequest put;
  put.set_key("k");
  etcdserverpb::PutResponse answer;
  CHECK(kv->Put(&context, put, &answer).error_code() == grpc::StatusCode::UNIMPLEMENTED);

  auto parsed = bench::parse_options(
      {"revkv-bench", "--grpc", "127.0.0.1:" + std::to_string(server.port()), "--clients", "16",
       "--conns", "4", "--mix", "get=1", "--duration", "0.3", "--keys", "100"});
  REQUIRE(std::holds_alternative<bench::Options>(parsed));
  auto report = bench::run_grpc(std::get<bench::Options>(parsed));
  INFO(report.first_error);
  CHECK(report.failed_connections == 0);
  const auto& gets = report.ops[static_cast<std::size_t>(bench::Op::get)];
  CHECK(gets.errors == 0);
  CHECK(gets.latency.count() > 0);
}

}  // namespace

TEST_CASE("revkv-floor: the libnghttp2 server answers gRPC's client as a gRPC server",
          "[revkv-bench][floor]") {
  SECTION("on its I/O thread") {
    check_floor<floor::Http2FloorServer>(false);
  }
  SECTION("through a worker thread") {
    check_floor<floor::Http2FloorServer>(true);
  }
}

TEST_CASE("revkv-floor: gRPC's own server, the same calls", "[revkv-bench][floor]") {
  SECTION("on gRPC's thread") {
    check_floor<floor::GrpcFloorServer>(false);
  }
  SECTION("through a worker thread") {
    check_floor<floor::GrpcFloorServer>(true);
  }
}
