// etcd's JSON gateway on revkvd as its real clients see it: python3-etcd3gw (Debian's
// client library of the gateway) runs tests/etcdapi/etcd3gw_client.py against revkvd, and
// a sequence of raw requests gets the same JSON (ids and terms normalized) from revkvd as
// from a real etcd 3.4 started beside it. Each reports itself skipped where its Debian
// package is missing.

#include "tests/etcdapi/etcd_process.hpp"
#include "tests/etcdapi/http_conn.hpp"
#include "tests/node/node_process.hpp"
#include "tests/skip.hpp"
#include "tests/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <regex>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <vector>

namespace revkv {
namespace {

using testing::HttpConn;

constexpr const char* kPython = "/usr/bin/python3";

// CMake names the script's path at build time, Bazel in the environment (a runfile).
std::string etcd3gw_script() {
  if (const char* env = std::getenv("REVKV_ETCD3GW_SCRIPT"); env && *env) return env;
#ifdef REVKV_ETCD3GW_SCRIPT
  return REVKV_ETCD3GW_SCRIPT;
#else
  return "tests/etcdapi/etcd3gw_client.py";
#endif
}

std::pair<int, std::string> run(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  REQUIRE(p != nullptr);
  std::array<char, 4096> buf{};
  for (size_t n; (n = std::fread(buf.data(), 1, buf.size(), p)) > 0;)
    out.append(buf.data(), n);
  const int status = ::pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

bool watch_served(uint16_t port) {
  HttpConn c(port);
  const std::string body = R"({"create_request":{"key":"AA=="}})";
  c.send_raw("POST /v3/watch HTTP/1.1\r\nHost: x\r\nContent-Length: " +
             std::to_string(body.size()) + "\r\n\r\n" + body);
  return c.read_head().status == 200;
}

TEST_CASE("gateway: python3-etcd3gw KV, txn, leases, locks and watches against revkvd",
          "[gateway][clients]") {
  if (!std::filesystem::exists(kPython) ||
      run(std::string(kPython) + " -c 'import etcd3gw'").first != 0) {
    testing::report_skipped("python3-etcd3gw not installed (scripts/setup)");
    return;
  }
  testing::TempDir dir;
  testing::NodeProcess node(dir.sub("node"), {"--sync", "never"});
  const bool watch = watch_served(node.grpc_port());
  if (!watch) WARN("the gRPC Watch service is not served by this build: no watch checks");
  const auto [status, out] = run(std::string(kPython) + " " + etcd3gw_script() + " " +
                                 std::to_string(node.grpc_port()) + (watch ? " --watch" : ""));
  INFO(out);
  CHECK(status == 0);
  CHECK(out.find("etcd3gw: ok") != std::string::npos);
}

// Ids, terms and the members' URLs differ between any two clusters: the rest must not.
std::string normalized(std::string json) {
  static const std::regex ids(R"re("(cluster_id|member_id|raft_term|leader)":"\d+")re");
  return std::regex_replace(json, ids, R"("$1":"N")");
}

struct Step {
  const char* path;
  const char* body;
};

TEST_CASE("gateway: revkvd's JSON answers are etcd 3.4's", "[gateway][clients]") {
  const auto etcd_bin = testing::find_etcd();
  if (etcd_bin.empty()) {
    testing::report_skipped("etcd not installed (Debian etcd-server; scripts/setup)");
    return;
  }
  testing::TempDir dir;
  testing::EtcdProcess etcd_process(etcd_bin, dir.sub("etcd"));
  const auto etcd_port = static_cast<uint16_t>(
      std::stoi(etcd_process.endpoint().substr(etcd_process.endpoint().rfind(':') + 1)));
  // Its gateway serves reads a moment after /health first says true.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (HttpConn(etcd_port, 5).post("/v3/kv/range", R"({"key":"AA=="})").status != 200 &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  testing::NodeProcess node(dir.sub("revkvd"), {"--sync", "never"});

  // foo=Zm9v bar=YmFy baz=YmF6 foo1=Zm9vMQ== fop=Zm9w
  const std::vector<Step> steps = {
      {"/v3/kv/put", R"({"key":"Zm9v","value":"YmFy"})"},
      {"/v3/kv/put", R"({"key":"Zm9vMQ==","value":"YmFy","prev_kv":true})"},
      {"/v3/kv/put", R"({"key":"Zm9v","value":"YmF6","prev_kv":true})"},
      {"/v3/kv/range", R"({"key":"Zm9v"})"},
      {"/v3/kv/range", R"({"key":"Zm9v","range_end":"Zm9w","sort_order":"DESCEND"})"},
      {"/v3/kv/range", R"({"key":"Zm9v","range_end":"Zm9w","count_only":true})"},
      {"/v3/kv/range", R"({"key":"Zm9v","range_end":"Zm9w","limit":1})"},
      {"/v3/kv/range", R"({"key":"Zm9v","revision":2})"},
      {"/v3/kv/range", R"({"key":"bm9uZQ=="})"},
      {"/v3/kv/range", R"({"key":"Zm9v","revision":99})"},
      {"/v3/kv/put", R"({"value":"YmFy"})"},
      {"/v3/kv/txn", R"({"compare":[{"key":"Zm9v","target":"VALUE","value":"YmFy"}],)"
                     R"("success":[{"request_put":{"key":"Zm9v","value":"eA=="}}],)"
                     R"("failure":[{"request_range":{"key":"Zm9v"}}]})"},
      {"/v3/kv/txn", R"({"compare":[{"key":"Zm9v","target":"CREATE","result":"GREATER",)"
                     R"("create_revision":1}],"success":[{"request_put":{"key":"Zm9v",)"
                     R"("value":"eQ=="}},{"request_delete_range":{"key":"Zm9vMQ=="}}]})"},
      {"/v3/kv/txn", R"({"success":[{"request_put":{"key":"Zm9v"}},)"
                     R"({"request_put":{"key":"Zm9v"}}]})"},
      {"/v3/kv/deleterange", R"({"key":"Zm9v","prev_kv":true})"},
      {"/v3/kv/deleterange", R"({"key":"Zm9v"})"},
      {"/v3/lease/grant", R"({"TTL":60,"ID":7})"},
      {"/v3/lease/grant", R"({"TTL":60,"ID":7})"},
      {"/v3/kv/put", R"({"key":"Zm9v","value":"YmFy","lease":7})"},
      {"/v3/kv/put", R"({"key":"Zm9v","value":"YmFy","lease":8})"},
      {"/v3/lease/keepalive", R"({"ID":8})"},
      {"/v3/lease/timetolive", R"({"ID":8})"},
      {"/v3/lease/leases", "{}"},
      {"/v3/kv/lease/revoke", R"({"ID":7})"},
      {"/v3/lease/revoke", R"({"ID":7})"},
      {"/v3/kv/range", R"({"key":"Zm9v"})"},
      {"/v3/kv/compaction", R"({"revision":3})"},
      {"/v3/kv/range", R"({"key":"Zm9v","revision":2})"},
      {"/v3/kv/compaction", R"({"revision":2})"},
      {"/v3beta/kv/range", R"({"key":"Zm9vMQ=="})"},
      {"/v3/kv/nothing", "{}"},
      {"/v3alpha/kv/range", "{}"},
  };
  HttpConn to_etcd(etcd_port);
  HttpConn to_revkvd(node.grpc_port());
  for (const auto& step : steps) {
    INFO("POST " << step.path << " " << step.body);
    const auto want = to_etcd.post(step.path, step.body);
    const auto got = to_revkvd.post(step.path, step.body);
    CHECK(got.status == want.status);
    CHECK(normalized(got.body) == normalized(want.body));
  }
  for (const char* path : {"/version", "/health"}) {
    INFO("GET " << path);
    CHECK(to_revkvd.request("GET", path).body == to_etcd.request("GET", path).body);
  }
  // A wrong method and malformed JSON: the same status; for the JSON, the same code (the
  // decoder's message is Go's in etcd, protobuf's in revkvd).
  CHECK(to_revkvd.request("GET", "/v3/kv/range").status ==
        to_etcd.request("GET", "/v3/kv/range").status);
  const auto bad_etcd = to_etcd.post("/v3/kv/range", R"({"key":)");
  const auto bad_revkvd = to_revkvd.post("/v3/kv/range", R"({"key":)");
  CHECK(bad_revkvd.status == bad_etcd.status);
  CHECK(bad_revkvd.body.substr(bad_revkvd.body.rfind(",\"code\"")) ==
        bad_etcd.body.substr(bad_etcd.body.rfind(",\"code\"")));

  if (!watch_served(node.grpc_port())) {
    WARN("the gRPC Watch service is not served by this build: watch not compared");
    return;
  }
  // A watch from revision 1 replays the same history, in the same lines.
  const std::string body = R"({"create_request":{"key":"AA==","range_end":"AA==",)"
                           R"("start_revision":4,"prev_kv":true}})";
  const auto first_lines = [&](uint16_t port) {
    HttpConn c(port);
    c.send_raw("POST /v3/watch HTTP/1.1\r\nHost: x\r\nContent-Length: " +
               std::to_string(body.size()) + "\r\n\r\n" + body);
    std::vector<std::string> lines;
    if (c.read_head().status != 200) return lines;
    for (int i = 0; i < 2; ++i)
      if (auto chunk = c.read_chunk()) lines.push_back(normalized(*chunk));
    return lines;
  };
  CHECK(first_lines(node.grpc_port()) == first_lines(etcd_port));
}

}  // namespace
}  // namespace revkv
