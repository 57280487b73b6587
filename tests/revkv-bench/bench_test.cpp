#include "apps/revkv-bench/bench.hpp"

#include "apps/revkv-bench/report_json.hpp"
#include "protocol/codec.hpp"
#include "tests/client/fake_server.hpp"

#include <catch2/catch.hpp>

#include <atomic>

using namespace revkv;
using namespace revkv::bench;

TEST_CASE("histogram percentiles are within a bucket of the truth") {
  Histogram h;
  for (uint64_t v = 1; v <= 100000; ++v)
    h.record(v * 1000);  // 1us .. 100ms
  CHECK(h.count() == 100000);
  CHECK(h.max() == 100000000);
  auto near = [](uint64_t got, double want) { return std::abs(double(got) - want) <= want * 0.04; };
  CHECK(near(h.percentile(0.5), 50e6));
  CHECK(near(h.percentile(0.99), 99e6));
  CHECK(near(h.percentile(0.999), 99.9e6));
  CHECK(h.percentile(1.0) == h.max());
  Histogram small;
  small.record(3);
  CHECK(small.percentile(0.5) == 3);
  Histogram merged;
  merged.merge(h);
  merged.merge(small);
  CHECK(merged.count() == 100001);
  CHECK(Histogram().percentile(0.5) == 0);
}

TEST_CASE("mix and options") {
  auto m = parse_mix("put=50,get=40,range=5,txn=5");
  REQUIRE(m);
  CHECK((*m)[static_cast<int>(Op::range)] == 5);
  CHECK(parse_mix("get=1").value()[static_cast<int>(Op::put)] == 0);
  CHECK_FALSE(parse_mix("put=0"));
  CHECK_FALSE(parse_mix("del=5"));
  CHECK_FALSE(parse_mix("put=-1,get=3"));
  auto o = parse_options({"revkv-bench", "--connections", "2", "--inflight", "8", "--duration",
                          "1.5", "--mix", "get=1", "--json"});
  REQUIRE(std::holds_alternative<Options>(o));
  CHECK(std::get<Options>(o).connections == 2);
  CHECK(std::get<Options>(o).duration_s == 1.5);
  CHECK(std::get<Options>(o).json);
  CHECK(std::get<ParseExit>(parse_options({"revkv-bench", "--mix", "x"})).code == 1);
  CHECK(key_of(7) < key_of(10));
}

TEST_CASE("a short run against the fake node measures every op of the mix") {
  test::FakeServer server([](test::FakeConnection& conn) {
    const protocol::ResponseHeader h{1, 1, 2, 1};
    for (;;) {
      auto req = conn.read_request();
      std::string body;
      if (req.method == "KV.Put")
        body = protocol::encode_kv_to_string(h, storage::PutResponse{});
      else if (req.method == "KV.Txn")
        body = protocol::encode_kv_to_string(h, storage::TxnResponse{});
      else if (req.msgid % 7 == 0)  // some refusals, counted as errors
        body.clear();
      else
        body = protocol::encode_kv_to_string(h, storage::RangeResponse{});
      conn.send(body.empty() ? test::error_frame(req.msgid, 11, "etcdserver: x")
                             : test::result_frame(req.msgid, body));
    }
  });
  Options o;
  o.endpoint = server.endpoint();
  o.connections = 1;
  o.inflight = 4;
  o.duration_s = 0.2;
  o.keys = 100;
  o.value_size = 10;
  Report r = run(o);
  CHECK(r.failed_connections == 0);
  uint64_t total = 0, errors = 0;
  for (const auto& s : r.ops) {
    total += s.latency.count();
    errors += s.errors;
  }
  CHECK(total > 50);
  CHECK(r.ops[static_cast<int>(Op::put)].latency.count() > 0);
  CHECK(r.ops[static_cast<int>(Op::get)].latency.count() > 0);
  CHECK(errors > 0);
  CHECK(r.first_error == "etcdserver: x");
  auto text = format_text(r, o);
  CHECK(text.find("p999(us)") != std::string::npos);
  auto json = format_json(r, o);
  CHECK(json.find("\"ops\":{\"put\":{\"count\":") != std::string::npos);
  CHECK(json.find("\"total\":{") != std::string::npos);
}

TEST_CASE("preload puts every key once and reports its own figures in the JSON report") {
  std::atomic<int> puts{0};
  test::FakeServer server([&puts](test::FakeConnection& conn) {
    const protocol::ResponseHeader h{1, 1, 2, 1};
    for (;;) {
      auto req = conn.read_request();
      if (req.method == "KV.Put") ++puts;
      conn.send(
          test::result_frame(req.msgid, protocol::encode_kv_to_string(h, storage::PutResponse{})));
    }
  });
  auto parsed = parse_options({"revkv-bench", "--endpoint", server.endpoint(), "--keys", "300",
                               "--preload", "--output", "report.json"});
  REQUIRE(std::holds_alternative<Options>(parsed));
  const auto& o = std::get<Options>(parsed);
  CHECK(o.output == "report.json");
  PreloadResult p = preload(o);
  CHECK(p.error.empty());
  CHECK(p.keys == 300);
  CHECK(puts.load() == 300);
  CHECK(p.seconds > 0);
  auto figures = preload_json(p);
  CHECK(figures["keys"] == 300);
  CHECK(figures["puts_per_sec"].get<double>() > 0);
  // The report as --json prints it and --output writes it: one JSON document.
  Report r;
  auto doc = report_json(r, o);
  doc["preload"] = figures;
  auto reread = util::json::parse(util::json::dump(doc));
  REQUIRE(reread);
  CHECK((*reread)["preload"]["keys"] == 300);
  CHECK((*reread)["door"] == "msgpack");
}

namespace {

// A fake node holding key_of(0..n-1) that pages ranges as etcd does: [key, range_end) in key
// order, at most `limit` keys, `more` when some were left out. `skip` drops that key from
// every answer (a node that loses a key), so the LIST check has something to catch.
void serve_pages(test::FakeConnection& conn, int64_t n, int64_t skip) {
  const protocol::ResponseHeader h{1, 1, 2, 1};
  for (;;) {
    auto req = conn.read_request();
    auto r = protocol::decode_body<storage::RangeRequest>(req.body);
    if (!r) return;  // not a range: the client sees the connection close (a failed run)
    storage::RangeResponse page;
    for (int64_t i = 0; i < n; ++i) {
      const std::string k = key_of(i);
      if (i == skip || k < r.value().key || k >= r.value().range_end) continue;
      if (static_cast<int64_t>(page.kvs.size()) == r.value().limit) {
        page.more = true;
        break;
      }
      storage::KeyValue kv;
      kv.key = k;
      kv.value = "v";
      page.kvs.push_back(std::move(kv));
    }
    conn.send(test::result_frame(req.msgid, protocol::encode_kv_to_string(h, page)));
  }
}

Report list_run(int64_t keys, int64_t skip) {
  test::FakeServer server([&](test::FakeConnection& conn) { serve_pages(conn, keys, skip); });
  // One connection (the fake node serves one at a time), three LISTs in flight on it.
  auto parsed = parse_options({"revkv-bench", "--endpoint", server.endpoint(), "--connections", "1",
                               "--inflight", "3", "--duration", "0.3", "--keys",
                               std::to_string(keys), "--mix", "list=1", "--range-size", "7"});
  REQUIRE(std::holds_alternative<Options>(parsed));
  return run(std::get<Options>(parsed));
}

}  // namespace

TEST_CASE("list reads the whole keyspace page by page and checks every LIST") {
  CHECK(parse_mix("list=1").value()[static_cast<int>(Op::list)] == 1);
  Report r = list_run(50, -1);
  INFO(r.first_error);
  CHECK(r.failed_connections == 0);
  REQUIRE(r.lists.complete > 0);
  CHECK(r.lists.mismatched == 0);
  CHECK(r.lists.keys == r.lists.complete * 50);
  // 50 keys by 7: 8 pages, the last one answered more = false.
  CHECK(r.ops[static_cast<int>(Op::list)].latency.count() >= r.lists.complete * 8);
  Options o;
  o.keys = 50;
  o.range_size = 7;
  o.mix = parse_mix("list=1").value();
  CHECK(format_text(r, o).find("lists: " + std::to_string(r.lists.complete) + " complete") !=
        std::string::npos);
  CHECK(format_json(r, o).find("\"lists\":{\"complete\":") != std::string::npos);
}

TEST_CASE("a LIST that misses a key is reported as a mismatch") {
  Report r = list_run(50, 23);
  REQUIRE(r.lists.complete > 0);
  CHECK(r.lists.mismatched == r.lists.complete);
  CHECK(r.lists.keys == r.lists.complete * 49);
}

TEST_CASE("a list cursor continues after the last key and catches disorder") {
  Options o;
  o.keys = 3;
  o.range_size = 2;
  ListCursor c(o);
  c.start();
  CHECK(c.page_start() == key_of(0));
  CHECK(c.page_end() == key_of(3));
  CHECK(c.page_revision() == 0);  // the first page reads the current revision
  c.key(key_of(0));
  c.key(key_of(1));
  CHECK_FALSE(c.end_page(true, 17));
  CHECK(c.page_start() == key_of(1) + std::string(1, '\0'));
  CHECK(c.page_revision() == 17);  // the rest read where the first page did
  c.key(key_of(2));
  CHECK(c.end_page(false, 17));
  CHECK_FALSE(c.active());
  CHECK(c.matched());
  c.start();
  CHECK(c.page_revision() == 0);
  c.key(key_of(1));
  c.key(key_of(0));
  c.key(key_of(2));
  CHECK(c.end_page(false, 20));
  CHECK(c.keys_seen() == 3);
  CHECK_FALSE(c.matched());  // out of order
  c.start();
  CHECK(c.end_page(true, 21));  // more with nothing to continue from: ends, as a mismatch
  CHECK_FALSE(c.matched());
}

TEST_CASE("stalls: windows where half the connections had a slow request") {
  std::vector<SlowRequest> slow;
  // 10 connections. Window 0 (0-50 ms): 6 connections, one of them twice -> a stall.
  for (int c = 0; c < 6; ++c)
    slow.push_back({10.0 + c, c});
  slow.push_back({40.0, 0});
  // Window 2 (100-150 ms): 4 connections -> not half of 10.
  for (int c = 0; c < 4; ++c)
    slow.push_back({120.0, c});
  // Window 5 (250-300 ms): 5 connections, exactly half -> a stall.
  for (int c = 5; c < 10; ++c)
    slow.push_back({299.9, c});
  auto s = summarize_stalls(slow, 10, kStallWindowMs);
  CHECK(s.slow == slow.size());
  CHECK(s.windows == 2);
  REQUIRE(s.window_starts_ms.size() == 2);
  CHECK(s.window_starts_ms[0] == 0);
  CHECK(s.window_starts_ms[1] == 250);
  CHECK(format_stalls(s, 20, kStallWindowMs) ==
        "slow requests (> 20 ms): 16; stall windows (50 ms in which half the connections or more "
        "had one): 2, at 0 250 ms\n");
  // One connection alone is never a stall, however slow.
  CHECK(summarize_stalls({{5.0, 0}, {6.0, 0}}, 1, kStallWindowMs).windows == 0);
  CHECK(summarize_stalls({}, 64, kStallWindowMs).windows == 0);

  auto o = parse_options({"revkv-bench", "--stall-ms", "20"});
  REQUIRE(std::holds_alternative<Options>(o));
  CHECK(std::get<Options>(o).stall_ms == 20);
  CHECK(std::get<ParseExit>(parse_options({"revkv-bench", "--stall-ms", "20", "--grpc", "x:1"}))
            .code == 1);
  auto negative = std::get<ParseExit>(parse_options({"revkv-bench", "--stall-ms", "-1"}));
  CHECK(negative.code == 1);
  CHECK_THAT(negative.err, Catch::Contains("--stall-ms"));
}
