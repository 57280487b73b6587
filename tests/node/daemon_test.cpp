// revkvd as a program: flags, environment and YAML config with their precedence, clear
// refusals (bad config, busy port, locked data dir), clean shutdown, auto-compaction,
// Maintenance.Snapshot streamed and restored, the Prometheus metrics moving with the work.

#include "apps/revkvctl/snapshot.hpp"
#include "client/client.hpp"
#include "storage/store.hpp"
#include "tests/monitoring/http_client.hpp"
#include "tests/node/node_process.hpp"
#include "tests/skip.hpp"
#include "tests/temp_dir.hpp"
#include "util/sha256.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <arpa/inet.h>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <map>
#include <netinet/in.h>
#include <optional>
#include <random>
#include <regex>
#include <sstream>
#include <sys/resource.h>
#include <sys/socket.h>
#include <thread>
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

// Restores `file` (revkvctl's code path: untar, storage::Store::restore) into `data_dir`,
// opens it and checks it holds `keys` with `values` at `revision`.
void check_restored(const std::string& file, const std::string& data_dir,
                    const std::vector<std::string>& values, int64_t revision) {
  auto restored = ctl::restore_snapshot(file, data_dir);
  REQUIRE(restored.ok());
  storage::StoreOptions options;
  options.backend.create_if_missing = false;
  auto store = storage::Store::open(data_dir, options);
  REQUIRE(store.ok());
  CHECK((*store)->current_revision() == revision);
  storage::RangeRequest all;
  all.key = "k";
  all.range_end = "l";
  auto r = (*store)->range(all);
  REQUIRE(r.ok());
  CHECK(r->revision == revision);
  REQUIRE(r->kvs.size() == values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    CHECK(r->kvs[i].key == "k" + std::string(i < 10 ? "0" : "") + std::to_string(i));
    CHECK(r->kvs[i].value == values[i]);
  }
  CHECK((*store)->close().ok());
}

// Puts k00..k{n-1} with incompressible values of `size` bytes; returns the values and
// sets `revision` to the last one.
std::vector<std::string> put_keys(client::Client& c, int n, size_t size, int64_t& revision) {
  std::mt19937_64 rng(42);
  std::vector<std::string> values;
  for (int i = 0; i < n; ++i) {
    std::string v(size, '\0');
    for (auto& ch : v)
      ch = static_cast<char>(rng());
    auto r =
        c.put(storage::PutRequest{"k" + std::string(i < 10 ? "0" : "") + std::to_string(i), v});
    REQUIRE(r.ok());
    revision = r.value().response.revision;
    values.push_back(std::move(v));
  }
  return values;
}

// GET http://127.0.0.1:port/path: the status code and the body (0 and "" when the answer is
// not HTTP).
std::pair<int, std::string> http_request(uint16_t port, const std::string& path) {
  auto r = testing::http_get(port, path);
  return {r.status, r.body};
}

// The body of a 200 answer, or "".
std::string http_get(uint16_t port, const std::string& path) {
  auto [status, body] = http_request(port, path);
  return status == 200 ? body : "";
}

// One scrape of /metrics: the value of each sample, keyed by its series as exposed
// (name{labels}, labels in prometheus-cpp's sorted order).
struct Scrape {
  std::map<std::string, double> samples;

  explicit Scrape(uint16_t port) {
    std::istringstream text(http_get(port, "/metrics"));
    for (std::string line; std::getline(text, line);) {
      if (line.empty() || line[0] == '#') continue;
      auto space = line.rfind(' ');
      REQUIRE(space != std::string::npos);
      samples[line.substr(0, space)] = std::stod(line.substr(space + 1));
    }
    REQUIRE_FALSE(samples.empty());
  }
  bool has(const std::string& series) const { return samples.contains(series); }
  // The sum over every series of the family `name` (all label values).
  double sum(const std::string& name) const {
    double total = 0;
    for (const auto& [series, value] : samples) {
      if (series.starts_with(name + "{")) total += value;
    }
    return total;
  }
  double operator[](const std::string& series) const {
    auto it = samples.find(series);
    if (it == samples.end()) FAIL("no series " << series << " in /metrics");
    return it->second;
  }
};

}  // namespace

TEST_CASE("revkvd: watch metrics count watchers and the events sent to them",
          "[node][metrics][watch]") {
  testing::TempDir dir;
  testing::NodeProcess node(dir.sub("data"));
  auto writer = std::move(client::Client::connect(node.endpoint())).value();
  {
    auto watcher = std::move(client::Client::connect(node.endpoint())).value();
    size_t events = 0;
    watcher.set_notification_handler([&](const client::Notification& n) {
      auto w = client::decode_watch_notification(n);
      if (w.ok()) events += w.value().events.size();
    });
    protocol::WatchCreateRequest create;
    create.key = "w";
    REQUIRE(watcher.watch(protocol::WatchRequest{create}).ok());
    CHECK(Scrape(node.metrics_port())["revkv_watchers"] == 1);
    for (int i = 0; i < 3; ++i)
      REQUIRE(writer.put(storage::PutRequest{"w", std::to_string(i)}).ok());
    while (events < 3)
      REQUIRE(watcher.pump_for(std::chrono::seconds(10)).value());
    Scrape after(node.metrics_port());
    CHECK(after["revkv_watch_events_sent_total"] == 3);
    CHECK(after["revkv_slow_watchers"] == 0);
  }
  // The watcher ends with its connection.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (Scrape(node.metrics_port())["revkv_watchers"] != 0 &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  CHECK(Scrape(node.metrics_port())["revkv_watchers"] == 0);
}

TEST_CASE("revkvd: /metrics moves with the work", "[node][metrics]") {
  testing::TempDir dir;
  testing::NodeProcess node(dir.sub("data"));
  auto c = std::move(client::Client::connect(node.endpoint())).value();
  const std::string put_ok = R"(revkv_requests_total{code="OK",method="KV.Put"})";
  const std::string range_ok = R"(revkv_requests_total{code="OK",method="KV.Range"})";
  const std::string compact_ok = R"(revkv_requests_total{code="OK",method="KV.Compact"})";
  const std::string compact_compacted =
      R"(revkv_requests_total{code="OutOfRange",method="KV.Compact"})";

  Scrape before(node.metrics_port());
  CHECK(before[R"(revkv_build_info{version="0.1.0"})"] == 1);
  CHECK(before["revkv_compact_revision"] == -1);
  CHECK(before["revkv_compactions_total"] == 0);
  CHECK(before[put_ok] == 0);  // the per-method children exist before the first request
  CHECK(before["revkv_quota_backend_bytes"] > 0);
  CHECK(before[R"(revkv_alarms{alarm="NOSPACE"})"] == 0);
  CHECK(before["revkv_db_total_size_bytes"] > 0);
  CHECK(before["revkv_compact_finished_revision"] == -1);
  CHECK_FALSE(before.has(compact_compacted));
  // Exported before any watcher or lease exists (dashboards and alerts name them).
  for (const char* zero : {"revkv_watchers", "revkv_slow_watchers", "revkv_watch_events_sent_total",
                           "revkv_leases", "revkv_lease_expired_total"})
    CHECK(before[zero] == 0);

  // A put raises the revision (and the watermark: it is acknowledged) by one.
  auto first = c.put(storage::PutRequest{"k", "v1"});
  REQUIRE(first.ok());
  Scrape after_put(node.metrics_port());
  CHECK(after_put["revkv_current_revision"] == before["revkv_current_revision"] + 1);
  CHECK(after_put["revkv_commit_watermark"] == before["revkv_commit_watermark"] + 1);
  CHECK(after_put[put_ok] == before[put_ok] + 1);
  CHECK(after_put[R"(revkv_request_duration_seconds_count{method="KV.Put"})"] ==
        before[R"(revkv_request_duration_seconds_count{method="KV.Put"})"] + 1);
  CHECK(after_put["revkv_disk_wal_fsync_duration_seconds_count"] >
        before["revkv_disk_wal_fsync_duration_seconds_count"]);
  CHECK(after_put["revkv_backend_commit_batch_revisions_sum"] ==
        before["revkv_backend_commit_batch_revisions_sum"] + 1);
  CHECK(after_put["revkv_connections_open"] == 1);  // the client's session
  CHECK(after_put["revkv_connections_accepted_total"] >= 1);
  CHECK(after_put["revkv_network_received_bytes_total"] >
        before["revkv_network_received_bytes_total"]);
  CHECK(after_put["revkv_network_sent_bytes_total"] > before["revkv_network_sent_bytes_total"]);

  // Counted by method: two ranges and a second put.
  storage::RangeRequest get;
  get.key = "k";
  REQUIRE(c.range(get).ok());
  REQUIRE(c.range(get).ok());
  auto second = c.put(storage::PutRequest{"k", "v2"});
  REQUIRE(second.ok());
  int64_t rev = second.value().response.revision;
  Scrape counted(node.metrics_port());
  CHECK(counted[range_ok] == before[range_ok] + 2);
  CHECK(counted[put_ok] == before[put_ok] + 2);
  CHECK(counted["revkv_current_revision"] == rev);
  CHECK(counted.sum("revkv_index_keys") == 1);  // over every shard
  CHECK(counted.sum("revkv_index_revisions") == 2);

  // A physical compaction at the newest revision: the gauge moves, a run is counted and
  // the first put's record is removed. Compacting there again is refused and counted so.
  REQUIRE(c.compact(protocol::CompactionRequest{rev, true}).ok());
  REQUIRE_FALSE(c.compact(protocol::CompactionRequest{rev, true}).ok());
  Scrape compacted(node.metrics_port());
  CHECK(compacted["revkv_compact_revision"] == rev);
  CHECK(compacted["revkv_compact_finished_revision"] == rev);  // physical: done when answered
  CHECK(compacted.sum("revkv_index_revisions") == 1);
  CHECK(compacted["revkv_compactions_total"] == 1);
  CHECK(compacted["revkv_compaction_duration_seconds_count"] == 1);
  CHECK(compacted["revkv_compaction_pause_duration_seconds_count"] >= 1);
  CHECK(compacted["revkv_compaction_removed_records_total"] >= 1);
  CHECK(compacted[compact_ok] == 1);
  CHECK(compacted[compact_compacted] == 1);
  CHECK(compacted[put_ok] == before[put_ok] + 2);  // other methods did not move
  // Every message a shard was sent has been handled: nothing is left counted.
  CHECK(compacted.has(R"(revkv_shard_mailbox_depth{shard="0"})"));
  CHECK(compacted.sum("revkv_shard_mailbox_depth") == 0);
  CHECK(node.stop() == 0);
}

TEST_CASE("revkvd: a defragment after a compaction shrinks the database sizes", "[node][metrics]") {
  testing::TempDir dir;
  testing::NodeProcess node(dir.sub("data"), {"--shards", "2"});
  auto c = std::move(client::Client::connect(node.endpoint())).value();
  int64_t revision = 0;
  put_keys(c, 32, 64 * 1024, revision);  // ~2 MiB of incompressible values
  auto deleted = c.delete_range(storage::DeleteRangeRequest{"k", std::string("l"), false});
  REQUIRE(deleted.ok());
  REQUIRE(c.compact(protocol::CompactionRequest{deleted.value().response.revision, true}).ok());
  Scrape compacted(node.metrics_port());
  CHECK(compacted["revkv_compactions_total"] == 1);
  REQUIRE(c.defragment().ok());
  Scrape defragmented(node.metrics_port());
  CHECK(defragmented["revkv_db_total_size_bytes"] < compacted["revkv_db_total_size_bytes"]);
  CHECK(defragmented["revkv_db_total_size_bytes"] < 1024 * 1024);
  CHECK(defragmented["revkv_db_total_size_in_use_bytes"] <=
        defragmented["revkv_db_total_size_bytes"]);
  CHECK(defragmented[R"(revkv_requests_total{code="OK",method="Maintenance.Defragment"})"] == 1);
  CHECK(node.stop() == 0);
}

TEST_CASE("revkvd: raises its soft open-file limit to the hard one", "[node]") {
  // Client connections and RocksDB's files share the descriptors: at the usual soft limit
  // of 1024, clients could leave RocksDB none for its next WAL file (a fatal error).
  rlimit ours{};
  REQUIRE(::getrlimit(RLIMIT_NOFILE, &ours) == 0);
  if (ours.rlim_max <= 256) return testing::report_skipped("hard open-file limit too low");
  testing::TempDir dir;
  std::optional<testing::NodeProcess> node;
  {
    // The node inherits the lowered limit; this process gets its own back however the
    // start ends.
    struct Restore {
      rlimit limit;
      ~Restore() { ::setrlimit(RLIMIT_NOFILE, &limit); }
    } restore{ours};
    rlimit lowered = ours;
    lowered.rlim_cur = 256;
    REQUIRE(::setrlimit(RLIMIT_NOFILE, &lowered) == 0);
    node.emplace(dir.sub("node"));
  }
  std::ifstream limits("/proc/" + std::to_string(node->pid()) + "/limits");
  std::string line, soft, hard;
  while (std::getline(limits, line))
    if (line.rfind("Max open files", 0) == 0) {
      std::istringstream fields(line.substr(std::string("Max open files").size()));
      fields >> soft >> hard;
    }
  CHECK(soft == hard);
  CHECK(soft == std::to_string(ours.rlim_max));
}

TEST_CASE(
    "revkvd: a new client connection that would take the descriptors kept for its own files is "
    "closed, and the node keeps writing files",
    "[node][bad-input]") {
  testing::TempDir dir;
  const std::string log = dir.sub("node.log");
  testing::NodeProcess node(dir.sub("node"), {}, log);
  auto before_flood = std::move(client::Client::connect(node.endpoint())).value();
  // The running node's soft limit lowered to 512 (prlimit, as an operator would): 128
  // descriptors are kept for RocksDB's files, the rest are the clients'.
  rlimit limit{};
  REQUIRE(::prlimit(node.pid(), RLIMIT_NOFILE, nullptr, &limit) == 0);
  if (limit.rlim_max < 512) return testing::report_skipped("hard open-file limit below 512");
  limit.rlim_cur = 512;
  REQUIRE(::prlimit(node.pid(), RLIMIT_NOFILE, &limit, nullptr) == 0);

  // Clients connect, each asking for the node's status, until one is closed unanswered.
  std::vector<client::Client> flood;
  bool refused = false;
  for (int i = 0; i < 512 && !refused; ++i) {
    auto c = client::Client::connect(node.endpoint());
    if (!c.ok() || !c.value().status().ok()) {
      refused = true;
      break;
    }
    flood.push_back(std::move(c).value());
  }
  CHECK(refused);
  CHECK(flood.size() >= 20);  // what the node itself holds is well below 512 - 128

  // With every client's descriptor taken, RocksDB still gets its files: a defragmentation
  // writes new tables, and the writes that follow it are served.
  for (int i = 0; i < 100; ++i)
    REQUIRE(before_flood.put(storage::PutRequest{"k" + std::to_string(i), std::string(1000, 'v')})
                .ok());
  CHECK(before_flood.defragment().ok());
  auto put = before_flood.put(storage::PutRequest{"after", "v"});
  REQUIRE(put.ok());
  storage::RangeRequest after;
  after.key = "after";
  CHECK(before_flood.range(after).value().response.kvs.size() == 1);

  // Once clients leave, new ones are served again.
  flood.clear();
  // (The node notices the closes as it reads them: a connection may still be refused
  // until then.)
  bool served = false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!served && std::chrono::steady_clock::now() < deadline) {
    auto c = client::Client::connect(node.endpoint());
    served = c.ok() && c.value().status().ok();
  }
  CHECK(served);
  CHECK(node.stop() == 0);
  std::ifstream in(log);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK(text.find("MessagePack port: closed a new connection") != std::string::npos);
}

TEST_CASE("revkvd: /health answers 200 while serving, other paths 404", "[node][metrics]") {
  testing::TempDir dir;
  testing::NodeProcess node(dir.sub("data"));
  auto [status, body] = http_request(node.metrics_port(), "/health");
  CHECK(status == 200);
  CHECK(body == "{\"health\":\"true\",\"reason\":\"\"}\n");
  CHECK(http_request(node.metrics_port(), "/nothing").first == 404);
  CHECK(http_request(node.metrics_port(), "/metrics/extra").first == 404);
  CHECK(node.stop() == 0);
}

TEST_CASE("revkvd: starts from configs/revkvd.yaml as shipped, which names every option",
          "[node][daemon]") {
  const char* from_env = std::getenv("REVKVD_SHIPPED_CONFIG");
#ifdef REVKVD_SHIPPED_CONFIG
  std::string config = from_env != nullptr ? from_env : REVKVD_SHIPPED_CONFIG;
#else
  REQUIRE(from_env != nullptr);
  std::string config = from_env;
#endif
  std::ifstream in(config);
  REQUIRE(in.good());
  std::stringstream yaml;
  yaml << in.rdbuf();
  // Every option of --help (but --config, --help and --version) is a key of the file.
  auto [status, help] = testing::run_revkvd_stdout({"--help"});
  CHECK(status == 0);
  std::regex flag(R"(--([a-z][a-z0-9-]+))");
  int options = 0;
  for (std::sregex_iterator it(help.begin(), help.end(), flag), end; it != end; ++it) {
    std::string name = (*it)[1];
    if (name == "config" || name == "help" || name == "version") continue;
    std::replace(name.begin(), name.end(), '-', '_');
    CHECK(yaml.str().find("\n" + name + ": ") != std::string::npos);
    ++options;
  }
  CHECK(options >= 12);
  // The file as is; only the data directory and the listeners are moved by flags.
  testing::TempDir dir;
  testing::NodeProcess node(dir.sub("data"), {"--config", config});
  auto c = std::move(client::Client::connect(node.endpoint())).value();
  REQUIRE(c.put(storage::PutRequest{"k", "v"}).ok());
  CHECK(http_request(node.metrics_port(), "/health").first == 200);
  CHECK(node.stop() == 0);
}

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
    REQUIRE(c.lease_grant(protocol::LeaseGrantRequest{60, 11}).ok());
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
    auto [health_status, health_body] = http_request(node.metrics_port(), "/health");
    CHECK(health_status == 503);
    CHECK(health_body == "{\"health\":\"false\",\"reason\":\"ALARM NOSPACE\"}\n");
    CHECK(Scrape(node.metrics_port())[R"(revkv_alarms{alarm="NOSPACE"})"] == 1);
    // Sticky: even a tiny put is refused now; reads and deletes still work.
    auto tiny = c.put(storage::PutRequest{"t", "1"});
    REQUIRE_FALSE(tiny.ok());
    CHECK(tiny.error().code == 8);
    // So is a lease grant (etcd's quota counts 64 bytes for one), before its TTL is looked
    // at; a revoke is not.
    for (int64_t ttl : {60ll, 9'000'000'001ll}) {
      auto grant = c.lease_grant(protocol::LeaseGrantRequest{ttl, 12});
      REQUIRE_FALSE(grant.ok());
      CHECK(grant.error().code == 8);
      CHECK(grant.error().message == "etcdserver: mvcc: database space exceeded");
    }
    CHECK(c.lease_revoke(protocol::LeaseRevokeRequest{11}).ok());
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
  CHECK(http_request(node.metrics_port(), "/health").first == 503);  // restored from disk
  REQUIRE(c.alarm(disarm).ok());
  CHECK(http_request(node.metrics_port(), "/health").first == 200);
  CHECK(c.put(storage::PutRequest{"t", "1"}).ok());
  CHECK(node.stop() == 0);
}

TEST_CASE("revkvd: Maintenance.Snapshot streams a tar of a checkpoint that restores",
          "[node][daemon][snapshot]") {
  testing::TempDir dir;
  testing::NodeProcess node(dir.sub("data"), {"--shards", "2"});
  auto c = std::move(client::Client::connect(node.endpoint())).value();
  int64_t revision = 0;
  // ~3 MiB of incompressible values: several 1 MiB chunks.
  auto values = put_keys(c, 24, 128 * 1024, revision);
  std::string blobs;
  std::vector<uint64_t> remaining;
  auto r = c.snapshot([&](const protocol::SnapshotChunk& chunk) {
    CHECK(chunk.blob.size() <= (1u << 20));
    CHECK_FALSE(chunk.blob.empty());
    blobs += chunk.blob;
    remaining.push_back(chunk.remaining_bytes);
    return true;
  });
  REQUIRE(r.ok());
  CHECK(r.value().header.revision == revision);
  CHECK(r.value().size == static_cast<int64_t>(blobs.size()));
  REQUIRE(remaining.size() >= 3);
  CHECK(remaining.back() == 0);
  for (size_t i = 1; i < remaining.size(); ++i)
    CHECK(remaining[i] < remaining[i - 1]);
  CHECK(remaining.front() + (1u << 20) == blobs.size());
  util::Sha256 sha;
  sha.update(blobs);
  CHECK(sha.finish() == r.value().sha256);
  CHECK(r.value().sha256.size() == 32);
  std::ofstream(dir.sub("snap.db"), std::ios::binary) << blobs;

  // The connection still serves requests after the stream.
  REQUIRE(c.put(storage::PutRequest{"k99", "after"}).ok());
  CHECK(node.stop() == 0);
  check_restored(dir.sub("snap.db"), dir.sub("restored"), values, revision);
  // No temp checkpoint left behind.
  for (const auto& e : std::filesystem::directory_iterator(std::filesystem::temp_directory_path()))
    CHECK(e.path().filename().string().find("revkv-snapshot-" + std::to_string(node.pid())) ==
          std::string::npos);
}

TEST_CASE("revkvd: revkvctl snapshot save against a live node, then restore",
          "[node][daemon][snapshot]") {
  testing::TempDir dir;
  testing::NodeProcess node(dir.sub("data"));
  auto c = std::move(client::Client::connect(node.endpoint())).value();
  int64_t revision = 0;
  auto values = put_keys(c, 5, 100, revision);
  auto saved = ctl::save_snapshot(c, dir.sub("snap.db"));
  REQUIRE(saved.ok());
  CHECK(std::filesystem::file_size(dir.sub("snap.db")) ==
        static_cast<uint64_t>(saved.value().size));
  CHECK_FALSE(std::filesystem::exists(dir.sub("snap.db.part")));
  CHECK(node.stop() == 0);
  check_restored(dir.sub("snap.db"), dir.sub("restored"), values, revision);
}
