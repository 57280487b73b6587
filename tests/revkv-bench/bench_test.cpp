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
