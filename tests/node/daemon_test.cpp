// revkvd as a program: flags, environment and YAML config with their precedence, clear
// refusals (bad config, busy port, locked data dir), clean shutdown, auto-compaction.

#include "client/client.hpp"
#include "tests/node/node_process.hpp"
#include "tests/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

using namespace revkv;

namespace {

// Polls the node's Status until `pred` holds, for at most `limit`.
template <class Pred>
bool eventually(client::Client& c, Pred pred, std::chrono::seconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    auto s = c.status();
    if (s.ok() && pred(s.value())) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("revkvd: --version, --help and bad values", "[node][daemon]") {
  auto [status, err] = testing::run_revkvd({"--version"});
  CHECK(status == 0);
  auto bad_sync = testing::run_revkvd({"--sync", "sometimes"});
  CHECK(bad_sync.first == 1);
  CHECK(bad_sync.second.find("--sync") != std::string::npos);
  auto bad_listen = testing::run_revkvd({"--listen-client", "nowhere"});
  CHECK(bad_listen.first == 1);
  CHECK(bad_listen.second.find("HOST:PORT") != std::string::npos);
  auto unknown = testing::run_revkvd({"--no-such-flag"});
  CHECK(unknown.first == 1);
  auto bad_retention = testing::run_revkvd(
      {"--auto-compaction-mode", "revision", "--auto-compaction-retention", "1h"});
  CHECK(bad_retention.first == 1);
}

TEST_CASE("revkvd: a bad config file, a busy port and a locked data dir are refused",
          "[node][daemon]") {
  testing::TempDir dir;
  {
    std::ofstream(dir.sub("bad.yaml")) << "shards: [1, 2\n";
    auto [status, err] = testing::run_revkvd({"--config", dir.sub("bad.yaml")});
    CHECK(status == 1);
    CHECK(err.find("YAML") != std::string::npos);
  }
  testing::NodeProcess node(dir.sub("data"));
  {
    auto [status, err] = testing::run_revkvd({"--data-dir", dir.sub("other"), "--listen-client",
                                              node.endpoint(), "--listen-metrics", "127.0.0.1:0"});
    CHECK(status == 1);
    CHECK(err.find("cannot listen") != std::string::npos);
  }
  {
    auto [status, err] = testing::run_revkvd({"--data-dir", dir.sub("data"), "--listen-client",
                                              "127.0.0.1:0", "--listen-metrics", "127.0.0.1:0"});
    CHECK(status == 1);
    CHECK(err.find("locked by another node") != std::string::npos);
  }
  CHECK(node.stop() == 0);
}

TEST_CASE("revkvd: YAML config, environment and flags, in that order of strength",
          "[node][daemon]") {
  testing::TempDir dir;
  std::ofstream(dir.sub("node.yaml")) << "shards: 3\nmax_txn_ops: 2\n";
  ::setenv("REVKV_MAX_TXN_OPS", "4", 1);
  testing::NodeProcess node(dir.sub("data"), {"--config", dir.sub("node.yaml")});
  ::unsetenv("REVKV_MAX_TXN_OPS");
  auto c = std::move(client::Client::connect(node.endpoint())).value();
  auto status = c.status();
  REQUIRE(status.ok());
  CHECK(status.value().shards == 3);  // from the file
  storage::TxnRequest t;
  for (int i = 0; i < 4; ++i) {
    storage::RequestOp op;
    op.op = storage::PutRequest{"k" + std::to_string(i), "v"};
    t.success.push_back(op);
  }
  CHECK(c.txn(t).ok());  // the environment's 4 beats the file's 2
  storage::RequestOp fifth;
  fifth.op = storage::PutRequest{"k5", "v"};
  t.success.push_back(fifth);
  auto refused = c.txn(t);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().message == "etcdserver: too many operations in txn request");
  CHECK(node.stop() == 0);
}

TEST_CASE("revkvd: revision auto-compaction keeps the last N revisions", "[node][daemon]") {
  testing::TempDir dir;
  testing::NodeProcess node(
      dir.sub("data"), {"--auto-compaction-mode", "revision", "--auto-compaction-retention", "5",
                        "--auto-compaction-interval", "200ms"});
  auto c = std::move(client::Client::connect(node.endpoint())).value();
  for (int i = 0; i < 20; ++i)
    REQUIRE(c.put(storage::PutRequest{"k", std::to_string(i)}).ok());
  // 20 puts: revision 21; keep the last 5 -> compacted at 16.
  CHECK(eventually(
      c, [](const auto& s) { return s.compact_revision == 16; }, std::chrono::seconds(20)));
  storage::RangeRequest old;
  old.key = "k";
  old.revision = 15;
  auto r = c.range(old);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message == "etcdserver: mvcc: required revision has been compacted");
  CHECK(node.stop() == 0);
}

TEST_CASE("revkvd: periodic auto-compaction drops history older than the retention",
          "[node][daemon]") {
  testing::TempDir dir;
  testing::NodeProcess node(
      dir.sub("data"), {"--auto-compaction-mode", "periodic", "--auto-compaction-retention", "1s"});
  auto c = std::move(client::Client::connect(node.endpoint())).value();
  REQUIRE(c.put(storage::PutRequest{"k", "1"}).ok());
  REQUIRE(c.put(storage::PutRequest{"k", "2"}).ok());
  CHECK(eventually(
      c, [](const auto& s) { return s.compact_revision >= 3; }, std::chrono::seconds(20)));
  CHECK(node.stop() == 0);
}

TEST_CASE("revkvd: SIGTERM with requests in flight exits 0 and keeps every write",
          "[node][daemon]") {
  testing::TempDir dir;
  int64_t last = 0;
  {
    testing::NodeProcess node(dir.sub("data"), {"--shards", "2"});
    auto c = std::move(client::Client::connect(node.endpoint())).value();
    for (int i = 0; i < 50; ++i) {
      auto r = c.put(storage::PutRequest{"k" + std::to_string(i % 7), std::to_string(i)});
      REQUIRE(r.ok());
      last = r.value().response.revision;
    }
    CHECK(node.stop() == 0);
  }
  testing::NodeProcess node(dir.sub("data"), {"--shards", "6"});
  auto c = std::move(client::Client::connect(node.endpoint())).value();
  storage::RangeRequest all;
  all.key = "k";
  all.range_end = "l";
  auto r = c.range(all);
  REQUIRE(r.ok());
  CHECK(r.value().response.revision == last);
  CHECK(r.value().response.count == 7);
  CHECK(node.stop() == 0);
}

TEST_CASE("revkvd: the space quota raises a sticky NOSPACE alarm", "[node][daemon][quota]") {
  testing::TempDir dir;
  const std::vector<std::string> flags = {"--quota-backend-bytes", "3000000", "--shards", "2"};
  std::string value(64 * 1024, 'x');
  {
    testing::NodeProcess node(dir.sub("data"), flags);
    auto c = std::move(client::Client::connect(node.endpoint())).value();
    bool refused = false;
    for (int i = 0; i < 200 && !refused; ++i) {
      auto r = c.put(storage::PutRequest{"k" + std::to_string(i % 8), value});
      if (!r.ok()) {
        CHECK(r.error().code == 8);
        CHECK(r.error().message == "etcdserver: mvcc: database space exceeded");
        refused = true;
      }
    }
    REQUIRE(refused);
    // Sticky: even a tiny put is refused now; reads and deletes still work.
    auto tiny = c.put(storage::PutRequest{"t", "1"});
    REQUIRE_FALSE(tiny.ok());
    CHECK(tiny.error().code == 8);
    storage::RangeRequest all;
    all.key = "k";
    all.range_end = "l";
    CHECK(c.range(all).ok());
    auto alarms = c.alarm(protocol::AlarmRequest{});
    REQUIRE(alarms.ok());
    REQUIRE(alarms.value().alarms.size() == 1);
    CHECK(alarms.value().alarms[0].alarm == protocol::AlarmType::nospace);
    CHECK(node.stop() == 0);
  }
  testing::NodeProcess node(dir.sub("data"), flags);
  auto c = std::move(client::Client::connect(node.endpoint())).value();
  CHECK_FALSE(c.put(storage::PutRequest{"t", "1"}).ok());  // the alarm survived the restart
  auto deleted = c.delete_range(storage::DeleteRangeRequest{"k", std::string("l"), false});
  REQUIRE(deleted.ok());
  REQUIRE(c.compact(protocol::CompactionRequest{deleted.value().response.revision, true}).ok());
  REQUIRE(c.defragment().ok());
  protocol::AlarmRequest disarm;
  disarm.action = protocol::AlarmAction::deactivate;
  disarm.alarm = protocol::AlarmType::nospace;
  REQUIRE(c.alarm(disarm).ok());
  CHECK(c.put(storage::PutRequest{"t", "1"}).ok());
  CHECK(node.stop() == 0);
}
