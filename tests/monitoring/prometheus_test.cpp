// A real Prometheus server (Debian's `prometheus`, installed by scripts/setup) scrapes a
// running revkvd on loopback; its HTTP API must return the revkv_ series with the values
// the node has, and it must load the shipped alert rules. Both processes run on free
// loopback ports with temporary directories and are stopped by PID.

#include "client/client.hpp"
#include "tests/monitoring/http_client.hpp"
#include "tests/monitoring/prometheus_process.hpp"
#include "tests/node/node_process.hpp"
#include "tests/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <optional>
#include <regex>

using namespace revkv;

namespace {

using testing::eventually;

// The value of an instant query with one series, or nullopt while there is none.
std::optional<double> query_value(uint16_t port, const std::string& query) {
  auto r = testing::http_get(port, "/api/v1/query?query=" + query);
  if (r.status != 200) return std::nullopt;
  std::smatch m;
  static const std::regex value(R"re("value":\[[0-9.e+]+,"([^"]+)"\])re");
  if (!std::regex_search(r.body, m, value)) return std::nullopt;
  return std::stod(m[1]);
}

}  // namespace

TEST_CASE("monitoring: a real Prometheus scrapes revkvd and sees its revision",
          "[monitoring][prometheus]") {
  testing::TempDir dir;
  testing::NodeProcess node(dir.sub("data"));
  auto c = std::move(client::Client::connect(node.endpoint())).value();
  int64_t revision = 0;
  for (int i = 0; i < 5; ++i) {
    auto r = c.put(storage::PutRequest{"k" + std::to_string(i), "v"});
    REQUIRE(r.ok());
    revision = r.value().response.revision;
  }
  REQUIRE(revision == 6);  // five puts after the initial revision 1

  testing::PrometheusProcess prometheus(dir.path().string(), {node.metrics_port()});
  const uint16_t port = prometheus.port();

  // The node's series, with the node's values.
  auto seen = eventually([&] { return query_value(port, "revkv_current_revision"); },
                         std::chrono::seconds(60));
  REQUIRE(seen.has_value());
  CHECK(*seen == revision);
  CHECK(query_value(port, "up%7Bjob%3D%22revkv%22%7D") == 1.0);
  CHECK(query_value(port, "revkv_requests_total%7Bmethod%3D%22KV.Put%22%2Ccode%3D%22OK%22%7D") ==
        5.0);
  CHECK(query_value(port, "revkv_alarms%7Balarm%3D%22NOSPACE%22%7D") == 0.0);

  // One more put: the next scrapes show it.
  REQUIRE(c.put(storage::PutRequest{"k", "v"}).ok());
  auto moved = eventually(
      [&]() -> std::optional<double> {
        auto v = query_value(port, "revkv_current_revision");
        if (v && *v == revision + 1) return v;
        return std::nullopt;
      },
      std::chrono::seconds(30));
  CHECK(moved == static_cast<double>(revision + 1));

  // The shipped alert rules are loaded and evaluate without errors; none fires.
  auto rules = testing::http_get(port, "/api/v1/rules");
  REQUIRE(rules.status == 200);
  CHECK(rules.body.find("\"name\":\"RevkvNospaceAlarm\"") != std::string::npos);
  CHECK(rules.body.find("\"health\":\"err\"") == std::string::npos);
  auto alerts = testing::http_get(port, "/api/v1/alerts");
  REQUIRE(alerts.status == 200);
  CHECK(alerts.body.find("\"state\":\"firing\"") == std::string::npos);
  CHECK(prometheus.running());
  CHECK(node.stop() == 0);
}

TEST_CASE("monitoring: a real Prometheus scrapes revkvd's client port, as etcd's configs do",
          "[monitoring][prometheus]") {
  // Scrape configs written for etcd name its client URL (etcd serves /metrics there too).
  testing::TempDir dir;
  testing::NodeProcess node(dir.sub("data"));
  auto c = std::move(client::Client::connect(node.endpoint())).value();
  REQUIRE(c.put(storage::PutRequest{"k", "v"}).ok());

  testing::PrometheusProcess prometheus(dir.path().string(), {node.grpc_port()});
  const uint16_t port = prometheus.port();
  auto seen = eventually([&] { return query_value(port, "revkv_current_revision"); },
                         std::chrono::seconds(60));
  REQUIRE(seen.has_value());
  CHECK(*seen == 2.0);
  CHECK(query_value(port, "up%7Bjob%3D%22revkv%22%7D") == 1.0);
  CHECK(query_value(port, "etcd_server_has_leader") == 1.0);
  CHECK(prometheus.running());
  CHECK(node.stop() == 0);
}
