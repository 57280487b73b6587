// A real Prometheus server (Debian's `prometheus`, installed by scripts/setup) scrapes a
// running revkvd on loopback; its HTTP API must return the revkv_ series with the values
// the node has, and it must load the shipped alert rules. Both processes run on free
// loopback ports with temporary directories and are stopped by PID.

#include "client/client.hpp"
#include "tests/monitoring/http_client.hpp"
#include "tests/node/node_process.hpp"
#include "tests/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <optional>
#include <poll.h>
#include <regex>
#include <sys/wait.h>
#include <unistd.h>

using namespace revkv;

namespace {

// The prometheus binary: PROMETHEUS_PATH, else the Debian package's.
std::string prometheus_binary() {
  const char* path = std::getenv("PROMETHEUS_PATH");
  return path != nullptr ? path : "/usr/bin/prometheus";
}

// Absolute: Prometheus resolves a relative rule file against its config file's folder
// (a temporary one here), and Bazel's runfiles paths are relative.
std::string shipped_alerts() {
  if (const char* path = std::getenv("REVKVD_SHIPPED_ALERTS"))
    return std::filesystem::absolute(path).string();
#ifdef REVKV_CONFIGS_DIR
  return std::string(REVKV_CONFIGS_DIR) + "/alerts.yml";
#else
  FAIL("REVKVD_SHIPPED_ALERTS is not set");
  return "";
#endif
}

// A prometheus child process, stopped (SIGTERM, then SIGKILL) when it goes out of scope.
class PrometheusProcess {
 public:
  PrometheusProcess(const std::string& config, const std::string& storage, uint16_t port,
                    const std::string& log) {
    REQUIRE(::access(prometheus_binary().c_str(), X_OK) == 0);  // scripts/setup installs it
    pid_ = ::fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (fd >= 0) {
        ::dup2(fd, STDOUT_FILENO);
        ::dup2(fd, STDERR_FILENO);
      }
      std::string bin = prometheus_binary();
      std::string args[] = {bin, "--config.file=" + config, "--storage.tsdb.path=" + storage,
                            "--web.listen-address=127.0.0.1:" + std::to_string(port),
                            "--log.level=warn"};
      char* argv[] = {args[0].data(), args[1].data(), args[2].data(),
                      args[3].data(), args[4].data(), nullptr};
      ::execv(bin.c_str(), argv);
      ::_exit(127);
    }
  }
  ~PrometheusProcess() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    if (!reaped(std::chrono::seconds(20))) {
      ::kill(pid_, SIGKILL);
      reaped(std::chrono::seconds(10));
    }
  }
  PrometheusProcess(const PrometheusProcess&) = delete;
  PrometheusProcess& operator=(const PrometheusProcess&) = delete;

  bool running() { return ::waitpid(pid_, nullptr, WNOHANG) == 0; }

 private:
  bool reaped(std::chrono::seconds limit) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      if (::waitpid(pid_, nullptr, WNOHANG) == pid_) return true;
      ::poll(nullptr, 0, 20);
    }
    return false;
  }
  pid_t pid_ = -1;
};

// Polls `probe` every 250 ms until it returns a value, for at most `limit`.
template <class Probe>
auto eventually(Probe probe, std::chrono::seconds limit) -> decltype(probe()) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (auto v = probe()) return v;
    ::poll(nullptr, 0, 250);
  }
  return probe();
}

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

  uint16_t port = testing::free_loopback_port();
  std::ofstream(dir.sub("prometheus.yml"))
      << "global:\n"
      << "  scrape_interval: 1s\n"
      << "  evaluation_interval: 1s\n"
      << "rule_files:\n"
      << "  - " << shipped_alerts() << "\n"
      << "scrape_configs:\n"
      << "  - job_name: revkv\n"
      << "    static_configs:\n"
      << "      - targets: [\"127.0.0.1:" << node.metrics_port() << "\"]\n";
  PrometheusProcess prometheus(dir.sub("prometheus.yml"), dir.sub("tsdb"), port,
                               dir.sub("prometheus.log"));
  auto ready = eventually(
      [&]() -> std::optional<bool> {
        if (testing::http_get(port, "/-/ready").status == 200) return true;
        return std::nullopt;
      },
      std::chrono::seconds(60));
  INFO("prometheus log: " << std::ifstream(dir.sub("prometheus.log")).rdbuf());
  REQUIRE(ready.has_value());

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
