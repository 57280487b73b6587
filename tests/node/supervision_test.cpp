// Supervision (docs/NODE.md): a core actor killed through the test hook (revkvd
// --test-hooks, POST /debug/kill) under a write load turns /health to 503 naming it, is
// logged, ends every waiting request, and makes the process exit 70; after the restart
// every acknowledged write is there.

#include "client/client.hpp"
#include "protocol/codec.hpp"
#include "protocol/method.hpp"
#include "tests/monitoring/http_client.hpp"
#include "tests/node/node_process.hpp"
#include "tests/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <netinet/in.h>
#include <sstream>
#include <stop_token>
#include <string>
#include <sys/socket.h>
#include <sys/time.h>
#include <thread>
#include <unistd.h>
#include <utility>
#include <vector>

using namespace revkv;
using namespace std::chrono_literals;

namespace {

// One HTTP/1.0 request to the node's metrics listener: {status, body}, {0, ""} when no
// HTTP answer comes (the node is gone).
std::pair<int, std::string> http(uint16_t port, const std::string& method,
                                 const std::string& target) {
  auto r = testing::http_request(port, method, target);
  return {r.status, r.body};
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// What the writers saw, shared under `mu`.
struct WriteLoad {
  std::mutex mu;
  std::condition_variable changed;
  std::map<std::string, std::string> acked;  // every acknowledged put: key -> value
  int finished = 0;                          // writers whose requests have all ended
  int timed_out = 0;                         // requests the client gave up waiting for
};

constexpr int kWriters = 4;
constexpr int kPipeline = 4;  // puts each writer keeps in flight

// Puts fresh keys, kPipeline at a time, until a put fails (or `stop`); records every
// acknowledged one. Each request ends with its answer, an error answer, or the connection's
// end; the client's request timeout is only a safety valve, and counts as a hang.
void write_until_failure(std::stop_token stop, const std::string& endpoint, int id,
                         WriteLoad& load) {
  client::ClientOptions options;
  options.request_timeout = 20s;
  auto connected = client::Client::connect(endpoint, options);
  bool failed = !connected.ok();
  for (int64_t seq = 0; !failed && !stop.stop_requested();) {
    std::vector<std::pair<uint32_t, storage::PutRequest>> sent;
    for (int i = 0; i < kPipeline; ++i, ++seq) {
      storage::PutRequest put{"w" + std::to_string(id) + "/" + std::to_string(seq),
                              "value " + std::to_string(id) + "/" + std::to_string(seq)};
      auto msgid = connected.value().queue(protocol::method_name(protocol::Method::kv_put),
                                           protocol::encode_to_string(put));
      sent.emplace_back(msgid, std::move(put));
    }
    (void)connected.value().flush();  // a failed flush fails every wait() below
    for (auto& [msgid, put] : sent) {
      auto r = connected.value().wait(msgid);
      std::lock_guard lock(load.mu);
      if (r.ok() && !r.value().error) {
        load.acked[put.key] = put.value;
        load.changed.notify_all();
        continue;
      }
      failed = true;
      if (!r.ok() && r.error().code == client::kCodeDeadlineExceeded) ++load.timed_out;
    }
  }
  std::lock_guard lock(load.mu);
  ++load.finished;
  load.changed.notify_all();
}

// Polls `pred` until it holds or `limit` passes.
bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
  }
  return false;
}

void kill_under_load(const std::string& actor) {
  testing::TempDir dir;
  std::string data = dir.sub("data");
  std::string log = dir.sub("revkvd.log");
  WriteLoad load;
  {
    testing::NodeProcess node(data, {"--shards", "2", "--test-hooks"}, log);
    std::vector<std::jthread> writers;  // declared after the node: joined before it stops
    for (int i = 0; i < kWriters; ++i) {
      writers.emplace_back(write_until_failure, node.endpoint(), i, std::ref(load));
    }
    {
      // Kill in the middle of the load.
      std::unique_lock lock(load.mu);
      REQUIRE(load.changed.wait_for(lock, 60s, [&] { return load.acked.size() >= 200; }));
      REQUIRE(load.finished == 0);
    }
    auto [status, body] = http(node.metrics_port(), "POST", "/debug/kill?actor=" + actor);
    REQUIRE(status == 200);
    CHECK(body == "killed " + actor + "\n");

    // /health says so, naming the actor, while the process lingers before it exits.
    std::string reported;
    CHECK(eventually(
        [&] {
          auto [code, text] = http(node.metrics_port(), "GET", "/health");
          if (code == 503) reported = text;
          return code == 503 || code == 0;
        },
        10s));
    CHECK(reported.find(R"({"health":"false","reason":"core actor )" + actor + " died: ") == 0);
    CHECK(reported.find("exit_reason(kill)") != std::string::npos);

    // The process ends by itself, with the failure status.
    CHECK(node.wait_exit(30s) == 70);

    // No writer hangs: each of their requests ended with an answer, an error or the end of
    // the connection.
    std::unique_lock lock(load.mu);
    CHECK(load.changed.wait_for(lock, 30s, [&] { return load.finished == kWriters; }));
    CHECK(load.timed_out == 0);
  }
  // The cause is logged, at error level.
  auto logged = read_file(log);
  CHECK(logged.find(R"("level":"error","msg":"supervision: core actor )" + actor + " died: ") !=
        std::string::npos);

  // Every acknowledged put survived the failure.
  testing::NodeProcess node(data, {"--shards", "2"});
  CHECK(http(node.metrics_port(), "GET", "/health").first == 200);
  auto c = std::move(client::Client::connect(node.endpoint())).value();
  storage::RangeRequest all;
  all.key = "w";
  all.range_end = "x";
  auto r = c.range(all);
  REQUIRE(r.ok());
  std::map<std::string, std::string> stored;
  for (const auto& kv : r.value().response.kvs)
    stored[kv.key] = kv.value;
  std::lock_guard lock(load.mu);
  REQUIRE(load.acked.size() >= 200);
  size_t missing = 0;
  for (const auto& [key, value] : load.acked) {
    auto it = stored.find(key);
    if (it == stored.end() || it->second != value) ++missing;
  }
  CHECK(missing == 0);
  // The node serves again.
  CHECK(c.put(storage::PutRequest{"after", "restart"}).ok());
  CHECK(node.stop() == 0);
}

}  // namespace

TEST_CASE("supervision: killed backend: node fails, acknowledged writes kept",
          "[node][supervision]") {
  kill_under_load("backend");
}

TEST_CASE("supervision: killed shard:0, then shard:1: node fails, acknowledged writes kept",
          "[node][supervision]") {
  kill_under_load("shard:0");
  kill_under_load("shard:1");
}

TEST_CASE("supervision: killed coordinator: node fails, acknowledged writes kept",
          "[node][supervision]") {
  kill_under_load("coordinator");
}

TEST_CASE("supervision: killed maintenance actor: node fails, acknowledged writes kept",
          "[node][supervision]") {
  kill_under_load("maintenance");
}

TEST_CASE("supervision: killed watch hub: node fails, acknowledged writes kept",
          "[node][supervision]") {
  kill_under_load("watch_hub");
}

TEST_CASE("supervision: killed lessor: node fails, acknowledged writes kept",
          "[node][supervision]") {
  kill_under_load("lessor");
}

TEST_CASE("supervision: the test hook exists only with --test-hooks", "[node][supervision]") {
  testing::TempDir dir;
  {
    // Without the flag there is no such endpoint, and a clean stop is no failure.
    std::string log = dir.sub("plain.log");
    testing::NodeProcess node(dir.sub("data"), {}, log);
    CHECK(http(node.metrics_port(), "POST", "/debug/kill?actor=backend").first == 404);
    CHECK(http(node.metrics_port(), "GET", "/health").first == 200);
    auto c = std::move(client::Client::connect(node.endpoint())).value();
    CHECK(c.put(storage::PutRequest{"k", "v"}).ok());
    CHECK(node.stop() == 0);
    CHECK(read_file(log).find("supervision") == std::string::npos);
  }
  {
    // With it, a name that is no core actor kills nothing.
    testing::NodeProcess node(dir.sub("data"), {"--shards", "2", "--test-hooks"});
    auto [status, body] = http(node.metrics_port(), "POST", "/debug/kill?actor=shard:2");
    CHECK(status == 400);
    CHECK(body.find("shard:1") != std::string::npos);  // lists the names
    CHECK(http(node.metrics_port(), "POST", "/debug/kill").first == 400);
    CHECK(http(node.metrics_port(), "GET", "/health").first == 200);
    CHECK(node.stop() == 0);
  }
  // The flag is not in --help, and a config file cannot set it.
  auto [help_status, help] = testing::run_revkvd_stdout({"--help"});
  CHECK(help_status == 0);
  CHECK(help.find("test-hooks") == std::string::npos);
  std::ofstream(dir.sub("hooks.yaml")) << "test_hooks: true\n";
  auto [status, err] =
      testing::run_revkvd({"--config", dir.sub("hooks.yaml"), "--data-dir", dir.sub("other"),
                           "--listen-client", "127.0.0.1:0", "--listen-metrics", "127.0.0.1:0"});
  CHECK(status == 1);
  CHECK(err.find("unknown key 'test_hooks'") != std::string::npos);
}
