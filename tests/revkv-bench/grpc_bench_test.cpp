// revkv-bench --grpc against a revkvd started on free ports (its gRPC door, and its
// MessagePack door with the same load), and against a real etcd 3.4 when one is installed.
// The checks are on counts, never on rates or times.

#include "apps/revkv-bench/bench.hpp"
#include "apps/revkv-bench/grpc_load.hpp"
#include "apps/revkv-bench/grpc_watch_bench.hpp"
#include "tests/etcdapi/etcd_process.hpp"
#include "tests/node/node_process.hpp"
#include "tests/skip.hpp"
#include "tests/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <numeric>

using namespace revkv;
using namespace revkv::bench;

namespace {

Options parse(std::vector<std::string> args) {
  args.insert(args.begin(), "revkv-bench");
  auto parsed = parse_options(args);
  REQUIRE(std::holds_alternative<Options>(parsed));
  return std::get<Options>(parsed);
}

uint64_t count(const Report& r, Op op) {
  return r.ops[static_cast<std::size_t>(op)].latency.count();
}

uint64_t errors(const Report& r) {
  uint64_t n = 0;
  for (const auto& s : r.ops)
    n += s.errors;
  return n;
}

// Every op of the mix measured over gRPC at `endpoint`, none refused, driven by `threads`
// threads, each of which takes answers.
void check_mixed_load(const std::string& endpoint, int threads = 1) {
  auto o = parse({"--grpc", endpoint, "--clients", "8", "--conns", "3", "--grpc-threads",
                  std::to_string(threads), "--duration", "0.5", "--keys", "50", "--value-size",
                  "32", "--mix", "put=1,get=1,range=1,txn=1,grant=1,keepalive=4"});
  auto preloaded = preload_grpc(o);
  REQUIRE(preloaded.error.empty());
  CHECK(preloaded.keys == o.keys);
  PutCounts puts(static_cast<std::size_t>(o.keys));
  Report r = run_grpc(o, &puts);
  INFO(r.first_error);
  CHECK(r.failed_connections == 0);
  CHECK(errors(r) == 0);
  CHECK(r.grpc_threads == threads);
  for (Op op : {Op::put, Op::get, Op::range, Op::txn, Op::grant, Op::keepalive})
    CHECK(count(r, op) > 0);
  CHECK(std::accumulate(puts.begin(), puts.end(), uint64_t{0}, [](uint64_t sum, const auto& n) {
          return sum + n.load();
        }) == count(r, Op::put));
  auto text = format_text(r, o);
  CHECK(text.find("8 clients over 3 conns, " + std::to_string(threads) + " thread") !=
        std::string::npos);
  const auto json = format_json(r, o);
  CHECK(json.find("\"door\":\"grpc\"") != std::string::npos);
  CHECK(json.find("\"grpc_threads\":" + std::to_string(threads)) != std::string::npos);
}

// Watchers over gRPC streams: every event owed is delivered, in order.
void check_watch_fan_out(const std::string& endpoint) {
  auto o = parse({"--grpc", endpoint, "--watch", "--watchers", "200", "--watch-streams", "7",
                  "--conns", "2", "--clients", "4", "--keys", "20", "--duration", "0.5"});
  WatchReport r = run_grpc_watch(o);
  INFO(r.first_error);
  CHECK(r.failed_streams == 0);
  const uint64_t puts = count(r.writes, Op::put);
  REQUIRE(puts > 0);
  CHECK(r.expected == puts * 10);  // 200 watchers on 20 keys: 10 per key
  CHECK(r.events == r.expected);
  CHECK(r.out_of_order == 0);
  CHECK(r.delivery.count() == r.events);
  CHECK(format_watch_text(r, o).find("all delivered in order") != std::string::npos);
}

}  // namespace

TEST_CASE("gRPC options: --grpc, --clients, --conns, --grpc-threads, keepalive over a stream") {
  auto o = parse({"--grpc", "127.0.0.1:2379", "--clients", "64", "--conns", "8"});
  CHECK(o.use_grpc());
  CHECK(o.clients == 64);
  CHECK(o.conns == 8);
  CHECK(o.load_clients() == 64);
  CHECK(o.grpc_threads == 1);
  CHECK(parse({"--grpc", "127.0.0.1:2379", "--grpc-threads", "4"}).grpc_threads == 4);
  CHECK(std::get<ParseExit>(parse_options({"revkv-bench", "--grpc-threads", "0"})).code != 0);
  CHECK_FALSE(parse({}).use_grpc());
  CHECK(parse({"--grpc", "127.0.0.1:1", "--mix", "keepalive=1"})
            .mix[static_cast<std::size_t>(Op::keepalive)] == 1);
}

TEST_CASE("gRPC: a node that is not there fails every client, and the run ends") {
  // A port just released: nothing listens on it.
  testing::TempDir dir;
  std::string endpoint;
  {
    testing::NodeProcess node(dir.sub("data"));
    endpoint = node.grpc_endpoint();
  }
  auto o = parse({"--grpc", endpoint, "--clients", "3", "--duration", "0.2", "--mix", "put=1"});
  Report r = run_grpc(o);
  CHECK(r.failed_connections == 3);
  CHECK(r.first_error.find("cannot connect") != std::string::npos);
}

TEST_CASE("gRPC door of revkvd: every op of the mix, the same load over MessagePack", "[node]") {
  testing::TempDir dir;
  testing::NodeProcess node(dir.sub("data"), {"--sync", "never"});
  check_mixed_load(node.grpc_endpoint());
  // Two threads, each with its share of the 8 clients on its own queue, over 3 channels:
  // clients of both threads share channels and their tokens.
  check_mixed_load(node.grpc_endpoint(), 2);
  // The same generator through the MessagePack door of the same node.
  auto o = parse({"--endpoint", node.endpoint(), "--connections", "2", "--inflight", "2",
                  "--duration", "0.3", "--keys", "50", "--mix", "put=1,get=1"});
  Report r = run(o);
  CHECK(r.failed_connections == 0);
  CHECK(errors(r) == 0);
  CHECK(count(r, Op::put) > 0);
  CHECK(count(r, Op::get) > 0);
  CHECK(format_json(r, o).find("\"door\":\"msgpack\"") != std::string::npos);
}

TEST_CASE("gRPC door of revkvd: watch fan-out delivers every event in order", "[node]") {
  testing::TempDir dir;
  testing::NodeProcess node(dir.sub("data"), {"--sync", "never"});
  check_watch_fan_out(node.grpc_endpoint());
}

TEST_CASE("etcd 3.4: the same gRPC load and watch fan-out", "[etcd]") {
  auto etcd_bin = testing::etcd_or_skip();
  if (etcd_bin.empty()) return;
  testing::TempDir dir;
  testing::EtcdProcess etcd(etcd_bin, dir.sub("etcd"));
  check_mixed_load(etcd.endpoint());
  check_watch_fan_out(etcd.endpoint());
}

namespace {

// LISTs of 1,200 keys paged by 500 over gRPC at `endpoint`: every LIST reads every key once,
// in order, in three pages.
void check_grpc_lists(const std::string& endpoint) {
  auto o =
      parse({"--grpc", endpoint, "--clients", "4", "--conns", "2", "--duration", "0.5", "--keys",
             "1200", "--value-size", "16", "--mix", "list=1", "--range-size", "500"});
  auto preloaded = preload_grpc(o);
  REQUIRE(preloaded.error.empty());
  Report r = run_grpc(o);
  INFO(r.first_error);
  CHECK(r.failed_connections == 0);
  CHECK(errors(r) == 0);
  REQUIRE(r.lists.complete > 0);
  CHECK(r.lists.mismatched == 0);
  CHECK(r.lists.keys == r.lists.complete * 1200);
  CHECK(count(r, Op::list) >= r.lists.complete * 3);
  CHECK(format_json(r, o).find("\"mismatched\":0") != std::string::npos);
}

}  // namespace

TEST_CASE("revkvd: LISTs paged by 500 through both doors read every key in order", "[node]") {
  testing::TempDir dir;
  testing::NodeProcess node(dir.sub("data"), {"--sync", "never", "--shards", "3"});
  check_grpc_lists(node.grpc_endpoint());
  // The same LISTs through the MessagePack door of the same node.
  auto o = parse({"--endpoint", node.endpoint(), "--connections", "2", "--inflight", "2",
                  "--duration", "0.5", "--keys", "1200", "--mix", "list=1", "--range-size", "500"});
  Report r = run(o);
  INFO(r.first_error);
  CHECK(r.failed_connections == 0);
  CHECK(errors(r) == 0);
  REQUIRE(r.lists.complete > 0);
  CHECK(r.lists.mismatched == 0);
  CHECK(r.lists.keys == r.lists.complete * 1200);
}

TEST_CASE("etcd 3.4: the same LISTs", "[etcd]") {
  auto etcd_bin = testing::etcd_or_skip();
  if (etcd_bin.empty()) return;
  testing::TempDir dir;
  testing::EtcdProcess etcd(etcd_bin, dir.sub("etcd"));
  check_grpc_lists(etcd.endpoint());
}
