// Every revkv_ metric (and grpc_server_ one, go-grpc-prometheus's names for the gRPC door)
// the shipped dashboard (configs/grafana/revkv.json) and alert rules (configs/alerts.yml)
// name exists in the /metrics of a running node, so neither shows
// "no data" for a typo or a renamed family. A histogram is named through its _bucket,
// _sum and _count series.

#include "client/client.hpp"
#include "tests/monitoring/http_client.hpp"
#include "tests/node/node_process.hpp"
#include "tests/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <ctime>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <tuple>

using namespace revkv;

namespace {

// A shipped config file: from the environment (Bazel's runfiles) or the source tree (CMake).
std::string config_file(const char* env, [[maybe_unused]] const std::string& relative) {
  if (const char* path = std::getenv(env)) return path;
#ifdef REVKV_CONFIGS_DIR
  return std::string(REVKV_CONFIGS_DIR) + "/" + relative;
#else
  FAIL(env << " is not set");
  return "";
#endif
}

std::string read(const std::string& path) {
  std::ifstream in(path);
  REQUIRE(in.good());
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::set<std::string> revkv_names(const std::string& text) {
  std::set<std::string> names;
  std::regex name(R"(\b(revkv|grpc_server)_[a-z0-9_]*[a-z0-9])");
  for (std::sregex_iterator it(text.begin(), text.end(), name), end; it != end; ++it)
    names.insert(it->str());
  return names;
}

// family name -> type, from the # TYPE lines of a scrape.
std::map<std::string, std::string> families(const std::string& scrape) {
  std::map<std::string, std::string> out;
  std::istringstream lines(scrape);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream words(line);
    std::string hash, type_word, name, type;
    if (words >> hash >> type_word >> name >> type && hash == "#" && type_word == "TYPE")
      out[name] = type;
  }
  return out;
}

// Whether `name` is a family, or a series of a histogram family (name_bucket/_sum/_count).
bool exported(const std::map<std::string, std::string>& fams, const std::string& name) {
  if (fams.contains(name)) return true;
  for (const char* suffix : {"_bucket", "_sum", "_count"}) {
    std::string s(suffix);
    if (name.size() > s.size() && name.ends_with(s)) {
      auto it = fams.find(name.substr(0, name.size() - s.size()));
      if (it != fams.end() && it->second == "histogram") return true;
    }
  }
  return false;
}

}  // namespace

TEST_CASE("monitoring: every revkv_ metric of the dashboard and the alerts is exported",
          "[monitoring]") {
  auto dashboard = revkv_names(read(config_file("REVKVD_SHIPPED_DASHBOARD", "grafana/revkv.json")));
  auto alerts = revkv_names(read(config_file("REVKVD_SHIPPED_ALERTS", "alerts.yml")));
  REQUIRE(dashboard.size() >= 20);
  REQUIRE(alerts.size() >= 5);

  testing::TempDir dir;
  testing::NodeProcess node(dir.sub("data"));
  auto scrape = testing::http_get(node.metrics_port(), "/metrics");
  REQUIRE(scrape.status == 200);
  auto fams = families(scrape.body);
  REQUIRE(fams.size() >= 20);
  for (const auto& name : dashboard) {
    INFO("configs/grafana/revkv.json names " << name);
    CHECK(exported(fams, name));
  }
  for (const auto& name : alerts) {
    INFO("configs/alerts.yml names " << name);
    // A cluster member's own families: a single node exports none of them (the cluster
    // test of dashboard_test.cpp finds them on three members).
    if (name.starts_with("revkv_cluster_")) continue;
    CHECK(exported(fams, name));
  }
  CHECK(node.stop() == 0);
}

namespace {

// sample series ("name" or "name{labels}") -> value, from one scrape.
std::map<std::string, double> samples(const std::string& scrape) {
  std::map<std::string, double> out;
  std::istringstream lines(scrape);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line[0] == '#') continue;
    auto space = line.rfind(' ');
    out[line.substr(0, space)] = std::stod(line.substr(space + 1));
  }
  return out;
}

// The sum of every series of `family` (its name alone or with labels).
double sum_of(const std::map<std::string, double>& all, const std::string& family) {
  double total = 0;
  for (const auto& [series, value] : all)
    if (series == family || series.rfind(family + "{", 0) == 0) total += value;
  return total;
}

}  // namespace

TEST_CASE("monitoring: the process_* families, as Prometheus client libraries export them",
          "[monitoring]") {
  testing::TempDir dir;
  testing::NodeProcess node(dir.sub("data"));
  auto scrape = testing::http_get(node.metrics_port(), "/metrics");
  REQUIRE(scrape.status == 200);
  auto fams = families(scrape.body);
  CHECK(fams["process_cpu_seconds_total"] == "counter");
  for (const char* gauge : {"process_resident_memory_bytes", "process_virtual_memory_bytes",
                            "process_virtual_memory_max_bytes", "process_open_fds",
                            "process_max_fds", "process_start_time_seconds"}) {
    INFO(gauge);
    CHECK(fams[gauge] == "gauge");
  }
  auto values = samples(scrape.body);
  CHECK(values["process_resident_memory_bytes"] > 1 << 20);
  CHECK(values["process_virtual_memory_bytes"] >= values["process_resident_memory_bytes"]);
  CHECK(values["process_open_fds"] >= 3);
  CHECK(values["process_max_fds"] >= values["process_open_fds"]);
  CHECK(values["process_cpu_seconds_total"] > 0);
  // Started by this test: after the test's own start, not after now.
  const double now = static_cast<double>(std::time(nullptr));
  CHECK(values["process_start_time_seconds"] <= now + 1);
  CHECK(values["process_start_time_seconds"] >= now - 600);
  CHECK(node.stop() == 0);
}

TEST_CASE("monitoring: etcd's metric names beside revkv's, from the same state", "[monitoring]") {
  testing::TempDir dir;
  testing::NodeProcess node(dir.sub("data"), {"--shards", "3", "--quota-backend-bytes", "1GiB"});
  // Keys over every shard, so the per-shard sum is more than one shard's count.
  auto c = std::move(client::Client::connect(node.endpoint())).value();
  for (int i = 0; i < 20; ++i)
    REQUIRE(c.put(storage::PutRequest{"key" + std::to_string(i), "v"}).ok());
  auto scrape = testing::http_get(node.metrics_port(), "/metrics");
  REQUIRE(scrape.status == 200);
  auto fams = families(scrape.body);
  auto values = samples(scrape.body);
  const std::vector<std::pair<std::string, std::string>> same = {
      {"revkv_current_revision", "etcd_debugging_mvcc_current_revision"},
      {"revkv_compact_revision", "etcd_debugging_mvcc_compact_revision"},
      {"revkv_db_total_size_bytes", "etcd_mvcc_db_total_size_in_bytes"},
      {"revkv_db_total_size_bytes", "etcd_debugging_mvcc_db_total_size_in_bytes"},
      {"revkv_db_total_size_in_use_bytes", "etcd_mvcc_db_total_size_in_use_in_bytes"},
      {"revkv_quota_backend_bytes", "etcd_server_quota_backend_bytes"},
      {"revkv_watchers", "etcd_debugging_mvcc_watcher_total"},
      {"revkv_slow_watchers", "etcd_debugging_mvcc_slow_watcher_total"},
      {"revkv_watch_events_sent_total", "etcd_debugging_mvcc_events_total"},
      {"revkv_compaction_removed_records_total", "etcd_debugging_mvcc_db_compaction_keys_total"},
      {"revkv_disk_wal_fsync_duration_seconds_count", "etcd_disk_wal_fsync_duration_seconds_count"},
  };
  for (const auto& [revkv, etcd] : same) {
    INFO(revkv << " vs " << etcd);
    REQUIRE(values.contains(revkv));
    REQUIRE(values.contains(etcd));
    CHECK(values[revkv] == values[etcd]);
  }
  CHECK(values["etcd_server_quota_backend_bytes"] == 1073741824.0);
  CHECK(sum_of(values, "revkv_index_keys") == 20);
  CHECK(values["etcd_debugging_mvcc_keys_total"] == 20);
  CHECK(fams["etcd_debugging_mvcc_db_compaction_total_duration_milliseconds"] == "histogram");
  CHECK(fams["etcd_disk_wal_fsync_duration_seconds"] == "histogram");
  // Seconds buckets become milliseconds buckets: revkv's 1 ms bucket is etcd's "1".
  CHECK(values.contains(
      R"(etcd_debugging_mvcc_db_compaction_pause_duration_milliseconds_bucket{le="1"})"));
  bool version = false, id = false;
  for (const auto& [series, value] : values) {
    if (series.rfind("etcd_server_version{server_version=\"", 0) == 0) version = value == 1;
    if (series == R"(etcd_server_id{server_id="6e6f6465"})") id = value == 1;
  }
  CHECK(version);
  CHECK(id);
  CHECK(node.stop() == 0);
}

namespace {

storage::RangeRequest range_of(std::string key) {
  storage::RangeRequest r;
  r.key = std::move(key);
  return r;
}

storage::DeleteRangeRequest delete_of(std::string key) {
  storage::DeleteRangeRequest r;
  r.key = std::move(key);
  return r;
}

template <class Op>
storage::RequestOp op(Op o) {
  storage::RequestOp r;
  r.op = std::move(o);
  return r;
}

}  // namespace

TEST_CASE("monitoring: etcd's operation and lease counters count what etcd's count",
          "[monitoring]") {
  testing::TempDir dir;
  testing::NodeProcess node(dir.sub("data"));
  auto c = std::move(client::Client::connect(node.endpoint())).value();
  REQUIRE(c.put(storage::PutRequest{"a", "v"}).ok());
  REQUIRE(c.put(storage::PutRequest{"b", "v"}).ok());
  REQUIRE(c.range(range_of("a")).ok());
  REQUIRE(c.delete_range(delete_of("a")).ok());
  // A transaction of three operations, one in a nested transaction: each counts once, and
  // the transaction counts as one. A failed request runs nothing and counts nothing.
  storage::TxnRequest nested;
  nested.success.push_back(op(delete_of("b")));
  storage::TxnRequest three;
  three.success.push_back(op(storage::PutRequest{"c", "v"}));
  three.success.push_back(op(range_of("c")));
  three.success.push_back(op(storage::Box<storage::TxnRequest>(nested)));
  three.failure.push_back(op(storage::PutRequest{"never", "v"}));
  REQUIRE(c.txn(three).ok());
  // One operation: a transaction etcd does not count as one (its counter is for more).
  storage::TxnRequest one;
  one.success.push_back(op(storage::PutRequest{"d", "v"}));
  REQUIRE(c.txn(one).ok());
  storage::TxnRequest refused;
  refused.success.push_back(op(storage::PutRequest{"e", "v"}));
  refused.success.push_back(op(storage::PutRequest{"e", "w"}));  // duplicate key
  REQUIRE_FALSE(c.txn(refused).ok());

  auto lease = c.lease_grant(protocol::LeaseGrantRequest{60, 0});
  REQUIRE(lease.ok());
  REQUIRE(c.lease_grant(protocol::LeaseGrantRequest{60, 0}).ok());
  const int64_t id = lease.value().id;
  REQUIRE(c.lease_keep_alive(protocol::LeaseKeepAliveRequest{id}).ok());
  REQUIRE(c.lease_revoke(protocol::LeaseRevokeRequest{id}).ok());

  auto scrape = testing::http_get(node.metrics_port(), "/metrics");
  REQUIRE(scrape.status == 200);
  auto fams = families(scrape.body);
  auto values = samples(scrape.body);
  const std::vector<std::tuple<std::string, std::string, double>> expected = {
      {R"(revkv_kv_operations_total{operation="put"})", "etcd_mvcc_put_total", 4},
      {R"(revkv_kv_operations_total{operation="range"})", "etcd_mvcc_range_total", 2},
      {R"(revkv_kv_operations_total{operation="delete_range"})", "etcd_mvcc_delete_total", 2},
      {"revkv_multi_operation_txns_total", "etcd_mvcc_txn_total", 1},
      {"revkv_lease_granted_total", "etcd_debugging_lease_granted_total", 2},
      {"revkv_lease_revoked_total", "etcd_debugging_lease_revoked_total", 1},
      {"revkv_lease_renewed_total", "etcd_debugging_lease_renewed_total", 1},
  };
  for (const auto& [revkv, etcd, count] : expected) {
    INFO(revkv << " and " << etcd);
    REQUIRE(values.contains(revkv));
    REQUIRE(values.contains(etcd));
    CHECK(values[revkv] == count);
    CHECK(values[etcd] == count);
    CHECK(fams[etcd] == "counter");
  }
  // Every group commit's write is one backend commit.
  CHECK(fams["etcd_disk_backend_commit_duration_seconds"] == "histogram");
  CHECK(values["etcd_disk_backend_commit_duration_seconds_count"] >= 1);
  CHECK(values["etcd_disk_backend_commit_duration_seconds_count"] ==
        values["revkv_backend_commit_duration_seconds_count"]);
  // Slow applies: the KV requests of the latency histogram above its 100 ms bucket.
  double slow = 0;
  for (const char* method : {"KV.Range", "KV.Put", "KV.DeleteRange", "KV.Txn", "KV.Compact"}) {
    std::string m(method);
    slow += values[R"(revkv_request_duration_seconds_count{method=")" + m + "\"}"] -
            values[R"(revkv_request_duration_seconds_bucket{method=")" + m + R"(",le="0.1"})"];
  }
  CHECK(fams["etcd_server_slow_apply_total"] == "counter");
  REQUIRE(values.contains("etcd_server_slow_apply_total"));
  CHECK(values["etcd_server_slow_apply_total"] == slow);
  CHECK(node.stop() == 0);
}
