// The shipped dashboard (configs/grafana/revkv.json) and alert rules (configs/alerts.yml)
// proven on data: a real Prometheus scrapes a revkvd that runs a short mixed load (puts,
// gets, txns, a watch, leases that expire, a compaction, a defragment, a request that
// fails), and every panel's query, asked through Prometheus's HTTP API as Grafana would
// ask it, returns data. Each alert evaluates without error and is in the state its
// scenario calls for: none while the node is healthy; RevkvNospaceAlarm firing and
// RevkvDatabaseNearQuota pending once a small quota is filled; RevkvNodeDown pending once
// the node is gone.

#include "client/client.hpp"
#include "tests/monitoring/http_client.hpp"
#include "tests/monitoring/prometheus_process.hpp"
#include "tests/node/node_process.hpp"
#include "tests/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>
#include <vector>

using namespace revkv;
using nlohmann::json;

namespace {

std::string dashboard_file() {
  if (const char* path = std::getenv("REVKVD_SHIPPED_DASHBOARD")) return path;
#ifdef REVKV_CONFIGS_DIR
  return std::string(REVKV_CONFIGS_DIR) + "/grafana/revkv.json";
#else
  FAIL("REVKVD_SHIPPED_DASHBOARD is not set");
  return "";
#endif
}

// Every "expr" of every panel (rows nest panels), with Grafana's $instance variable set to
// "all instances" as its default does.
void collect_exprs(const json& node, std::set<std::string>& out) {
  if (node.is_object()) {
    for (const auto& [key, value] : node.items()) {
      if (key == "expr" && value.is_string()) {
        std::string expr = value.get<std::string>();
        for (size_t at; (at = expr.find("$instance")) != std::string::npos;)
          expr.replace(at, 9, ".*");
        out.insert(expr);
      } else {
        collect_exprs(value, out);
      }
    }
  } else if (node.is_array()) {
    for (const auto& item : node)
      collect_exprs(item, out);
  }
}

// The panels' queries: those of cluster mode's panels (etcd's etcd_server_ and
// etcd_network_ cluster metrics, of which a single node exports only has_leader and
// is_leader) when `cluster`, the others otherwise.
std::set<std::string> dashboard_exprs(bool cluster) {
  std::ifstream in(dashboard_file());
  REQUIRE(in.good());
  std::set<std::string> exprs;
  collect_exprs(json::parse(in), exprs);
  std::set<std::string> out;
  for (const auto& expr : exprs) {
    bool cluster_only = expr.find("etcd_server_") != std::string::npos ||
                        expr.find("etcd_network_") != std::string::npos;
    if (cluster_only == cluster) out.insert(expr);
  }
  return out;
}

// GET on Prometheus's API; the parsed answer, or null when it is not a JSON success.
json api(uint16_t port, const std::string& path) {
  auto r = testing::http_get(port, path);
  if (r.status != 200) return nullptr;
  auto doc = json::parse(r.body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || doc.value("status", "") != "success") return nullptr;
  return doc;
}

// The series an instant query returns now (empty when none, or on an error).
json query(uint16_t port, const std::string& expr) {
  auto doc = api(port, "/api/v1/query?query=" + testing::url_encode(expr));
  if (doc.is_null()) return json::array();
  return doc["data"]["result"];
}

// The queries of `exprs` that return no series now.
std::vector<std::string> without_data(uint16_t port, const std::set<std::string>& exprs) {
  std::vector<std::string> empty;
  for (const auto& expr : exprs)
    if (query(port, expr).empty()) empty.push_back(expr);
  return empty;
}

// alert name -> {"health": "ok"|"err"|"unknown", "state": "inactive"|"pending"|"firing"}.
std::map<std::string, std::pair<std::string, std::string>> alert_rules(uint16_t port) {
  std::map<std::string, std::pair<std::string, std::string>> out;
  auto doc = api(port, "/api/v1/rules");
  if (doc.is_null()) return out;
  for (const auto& group : doc["data"]["groups"])
    for (const auto& rule : group["rules"])
      if (rule.value("type", "") == "alerting")
        out[rule["name"]] = {rule.value("health", ""), rule.value("state", "")};
  return out;
}

// Waits until alert `name` is in `state` (Prometheus evaluates every second).
bool alert_reaches(uint16_t port, const std::string& name, const std::string& state) {
  return testing::eventually(
      [&] {
        auto rules = alert_rules(port);
        return rules.contains(name) && rules[name].second == state;
      },
      std::chrono::seconds(60));
}

storage::PutRequest put(const std::string& key, std::string value, int64_t lease = 0) {
  storage::PutRequest r;
  r.key = key;
  r.value = std::move(value);
  r.lease = lease;
  return r;
}

// The load the panels need data from.
void mixed_load(client::Client& c, client::Client& watcher) {
  protocol::WatchCreateRequest create;
  create.key = "load/";
  create.range_end = "load0";
  REQUIRE(watcher.watch(protocol::WatchRequest{create}).ok());
  int64_t revision = 0;
  for (int i = 0; i < 200; ++i) {
    auto r = c.put(put("load/" + std::to_string(i % 50), std::string(100, 'v')));
    REQUIRE(r.ok());
    revision = r.value().response.revision;
    storage::RangeRequest get;
    get.key = "load/" + std::to_string(i % 50);
    REQUIRE(c.range(get).ok());
  }
  storage::TxnRequest txn;
  storage::RequestOp op;
  op.op = put("load/txn", "v");
  txn.success.push_back(op);
  REQUIRE(c.txn(txn).ok());
  // A lease that expires (the lessor revokes it and its key) and one that is revoked.
  protocol::LeaseGrantRequest grant;
  grant.ttl = 1;
  auto short_lease = c.lease_grant(grant);
  REQUIRE(short_lease.ok());
  REQUIRE(c.put(put("load/leased", "v", short_lease.value().id)).ok());
  grant.ttl = 60;
  auto long_lease = c.lease_grant(grant);
  REQUIRE(long_lease.ok());
  protocol::LeaseRevokeRequest revoke;
  revoke.id = long_lease.value().id;
  REQUIRE(c.lease_revoke(revoke).ok());
  // A compaction, a read below it (fails: OutOfRange), a defragment.
  REQUIRE(c.compact(protocol::CompactionRequest{revision - 10, true}).ok());
  storage::RangeRequest old;
  old.key = "load/1";
  old.revision = revision - 20;
  CHECK_FALSE(c.range(old).ok());
  REQUIRE(c.defragment().ok());
  // The watcher reads what it was sent (it would be a slow watcher otherwise).
  REQUIRE(watcher.pump_for(std::chrono::milliseconds(100)).ok());
}

}  // namespace

TEST_CASE("monitoring: every dashboard panel and alert, through a real Prometheus, on data",
          "[monitoring][prometheus]") {
  const auto exprs = dashboard_exprs(/*cluster=*/false);
  REQUIRE(exprs.size() >= 30);
  testing::TempDir dir;
  // A small quota, for the NOSPACE scenario at the end; the load stays far below 80 % of it.
  auto node = std::make_unique<testing::NodeProcess>(
      dir.sub("data"), std::vector<std::string>{"--quota-backend-bytes", "24MiB",
                                                "--lease-check-interval", "100ms"});
  testing::PrometheusProcess prometheus(dir.path().string(), {node->metrics_port()});
  const uint16_t port = prometheus.port();
  INFO("prometheus log: " << prometheus.log());

  {
    auto c = std::move(client::Client::connect(node->endpoint())).value();
    auto watcher = std::move(client::Client::connect(node->endpoint())).value();
    size_t events = 0;
    watcher.set_notification_handler([&](const client::Notification&) { ++events; });
    mixed_load(c, watcher);

    // Every panel returns data (a rate needs two scrapes of the counter; a lease expires).
    std::vector<std::string> empty;
    bool all = testing::eventually(
        [&] {
          REQUIRE(watcher.pump_for(std::chrono::milliseconds(1)).ok());
          empty = without_data(port, exprs);
          return empty.empty();
        },
        std::chrono::seconds(90));
    for (const auto& expr : empty)
      UNSCOPED_INFO("no data: " << expr);
    CHECK(all);
    CHECK(events > 0);
    // The expiry counter is exported from the start, so its panel had data before the lease
    // expired (a TTL of at least 2 s) and was scraped: wait for the scrape that shows it.
    CHECK(
        testing::eventually([&] { return !query(port, "revkv_lease_expired_total == 1").empty(); },
                            std::chrono::seconds(60)));
    CHECK(query(port, "revkv_lease_expired_total")[0]["value"][1] == "1");
    CHECK(query(port, "revkv_compactions_total")[0]["value"][1] == "1");

    // The rules: all loaded, healthy, none pending or firing on a healthy node (but the
    // fsync-latency rule on a machine whose disk is really slow, below).
    auto rules = alert_rules(port);
    REQUIRE(rules.size() >= 6);
    for (const auto& [name, health_state] : rules) {
      INFO(name);
      CHECK(health_state.first == "ok");
      // A slow fsync is the test machine's, not the node's: on a disk shared with a
      // parallel build the p99 can pass 0.5 s. The rule may then be pending (it fires after
      // 10 minutes), but only if its expression really holds: a rule that is always true
      // would otherwise go unseen.
      if (name == "RevkvFsyncLatencyHigh" && health_state.second == "pending" &&
          !query(port,
                 "histogram_quantile(0.99, sum by (instance, le) "
                 "(rate(revkv_disk_wal_fsync_duration_seconds_bucket[5m]))) > 0.5")
               .empty())
        continue;
      CHECK(health_state.second == "inactive");
    }

    // Fill the quota: NOSPACE is raised and fires at once; the near-quota alert is pending
    // (it waits 10 minutes before it fires).
    bool refused = false;
    for (int i = 0; i < 100 && !refused; ++i) {
      auto r = c.put(put("fill/" + std::to_string(i), std::string(1 << 20, 'x')));
      refused = !r.ok();
    }
    REQUIRE(refused);
    CHECK(alert_reaches(port, "RevkvNospaceAlarm", "firing"));
    CHECK(alert_reaches(port, "RevkvDatabaseNearQuota", "pending"));
    CHECK(alert_rules(port)["RevkvCompactionFallingBehind"].second == "inactive");
  }

  // The node gone: its scrape fails, up == 0, RevkvNodeDown pending (for 1m).
  CHECK(node->stop() == 0);
  node.reset();
  CHECK(alert_reaches(port, "RevkvNodeDown", "pending"));
  CHECK(prometheus.running());
}

// Cluster mode's panels and alerts on three revkvd members: every cluster panel returns data
// once a leader took writes; the cluster alerts load healthy and stay quiet; a member left
// alone (the other two killed) knows no leader and RevkvNoLeader turns pending.
TEST_CASE("monitoring: the cluster panels and alerts, through a real Prometheus, on a cluster",
          "[monitoring][prometheus][cluster]") {
  const auto exprs = dashboard_exprs(/*cluster=*/true);
  REQUIRE(exprs.size() >= 9);
  testing::TempDir dir;
  std::string initial;
  for (const char* name : {"a", "b", "c"})
    initial += std::string(initial.empty() ? "" : ",") + name +
               "=127.0.0.1:" + std::to_string(testing::free_loopback_port());
  std::vector<std::unique_ptr<testing::NodeProcess>> members;
  std::vector<uint16_t> metrics_ports;
  for (const char* name : {"a", "b", "c"}) {
    // Fixed client ports: a member that restarts itself in place (a deposed leader with
    // writes in flight) serves, and is scraped, where it was.
    const auto port = [] { return "127.0.0.1:" + std::to_string(testing::free_loopback_port()); };
    members.push_back(std::make_unique<testing::NodeProcess>(
        dir.sub(name),
        std::vector<std::string>{"--name", name, "--initial-cluster", initial, "--listen-client",
                                 port(), "--listen-grpc", port(), "--listen-metrics", port()}));
    metrics_ports.push_back(members.back()->metrics_port());
  }
  testing::PrometheusProcess prometheus(dir.path().string(), metrics_ports);
  const uint16_t port = prometheus.port();
  INFO("prometheus log: " << prometheus.log());

  // A member that takes a write once the cluster has a leader (followers forward writes, so
  // it need not lead: the load and the survivor below need no particular member).
  auto leader = testing::eventually(
      [&]() -> std::optional<size_t> {
        for (size_t i = 0; i < members.size(); ++i) {
          auto c = client::Client::connect(members[i]->endpoint());
          if (c.ok() && c.value().put(put("probe", "v")).ok()) return i;
        }
        return std::nullopt;
      },
      std::chrono::seconds(30));
  REQUIRE(leader);
  {
    auto c = std::move(client::Client::connect(members[*leader]->endpoint())).value();
    for (int i = 0; i < 100; ++i)
      REQUIRE(c.put(put("load/" + std::to_string(i % 10), "v")).ok());
  }
  std::vector<std::string> empty;
  bool all = testing::eventually(
      [&] {
        empty = without_data(port, exprs);
        return empty.empty();
      },
      std::chrono::seconds(90));
  for (const auto& expr : empty)
    UNSCOPED_INFO("no data: " << expr);
  CHECK(all);
  // Every member reports a leader, one of them leads (eventually: the members are scraped
  // at different moments, and an election under load may fall between two scrapes).
  CHECK(testing::eventually(
      [&] {
        return query(port, "etcd_server_has_leader == 1").size() == 3 &&
               query(port, "etcd_server_is_leader == 1").size() == 1;
      },
      std::chrono::seconds(30)));

  // The cluster-only revkv family an alert names is scraped from every member.
  CHECK(testing::eventually(
      [&] { return query(port, "revkv_cluster_forwarded_apply_timeouts_total").size() == 3; },
      std::chrono::seconds(30)));
  auto rules = alert_rules(port);
  for (const char* name : {"RevkvNoLeader", "RevkvFrequentLeaderChanges", "RevkvProposalsFailing",
                           "RevkvFollowerLagging"}) {
    INFO(name);
    REQUIRE(rules.contains(name));
    CHECK(rules[name].first == "ok");
    CHECK(rules[name].second == "inactive");
  }

  // Alone, the survivor knows no leader: RevkvNoLeader pending (it fires after 1 minute).
  const size_t survivor = (*leader + 1) % members.size();
  for (size_t i = 0; i < members.size(); ++i)
    if (i != survivor) members[i]->kill9();
  CHECK(alert_reaches(port, "RevkvNoLeader", "pending"));
  CHECK(prometheus.running());
}
