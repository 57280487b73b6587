#include "tests/monitoring/prometheus_process.hpp"

#include "tests/monitoring/http_client.hpp"

#include <catch2/catch.hpp>

#include <cctype>
#include <csignal>
#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <poll.h>
#include <sstream>
#include <sys/wait.h>
#include <unistd.h>

namespace revkv::testing {
namespace {

// The prometheus binary: PROMETHEUS_PATH, else the Debian package's.
std::string prometheus_binary() {
  const char* path = std::getenv("PROMETHEUS_PATH");
  return path != nullptr ? path : "/usr/bin/prometheus";
}

}  // namespace

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

void poll_pause() {
  ::poll(nullptr, 0, 250);
}

std::string url_encode(const std::string& text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

PrometheusProcess::PrometheusProcess(const std::string& dir,
                                     const std::vector<uint16_t>& metrics_ports)
    : log_file_(dir + "/prometheus.log"), port_(free_loopback_port()) {
  REQUIRE(::access(prometheus_binary().c_str(), X_OK) == 0);  // scripts/setup installs it
  const std::string config = dir + "/prometheus.yml";
  {
    std::ofstream out(config);
    out << "global:\n"
        << "  scrape_interval: 1s\n"
        << "  evaluation_interval: 1s\n"
        << "rule_files:\n"
        << "  - " << shipped_alerts() << "\n"
        << "scrape_configs:\n"
        << "  - job_name: revkv\n"
        << "    static_configs:\n"
        << "      - targets: [";
    for (size_t i = 0; i < metrics_ports.size(); ++i)
      out << (i ? ", " : "") << "\"127.0.0.1:" << metrics_ports[i] << "\"";
    out << "]\n";
  }
  pid_ = ::fork();
  REQUIRE(pid_ >= 0);
  if (pid_ == 0) {
    int fd = ::open(log_file_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      ::dup2(fd, STDOUT_FILENO);
      ::dup2(fd, STDERR_FILENO);
    }
    std::string bin = prometheus_binary();
    std::string args[] = {bin, "--config.file=" + config, "--storage.tsdb.path=" + dir + "/tsdb",
                          "--web.listen-address=127.0.0.1:" + std::to_string(port_),
                          "--log.level=warn"};
    char* argv[] = {args[0].data(), args[1].data(), args[2].data(),
                    args[3].data(), args[4].data(), nullptr};
    ::execv(bin.c_str(), argv);
    ::_exit(127);
  }
  bool ready = eventually([&] { return http_get(port_, "/-/ready").status == 200; },
                          std::chrono::seconds(60));
  INFO("prometheus log: " << log());
  REQUIRE(ready);
}

PrometheusProcess::~PrometheusProcess() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  if (!reaped(std::chrono::seconds(20))) {
    ::kill(pid_, SIGKILL);
    reaped(std::chrono::seconds(10));
  }
}

bool PrometheusProcess::running() {
  return ::waitpid(pid_, nullptr, WNOHANG) == 0;
}

std::string PrometheusProcess::log() const {
  std::ifstream in(log_file_);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

bool PrometheusProcess::reaped(std::chrono::seconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (::waitpid(pid_, nullptr, WNOHANG) == pid_) return true;
    ::poll(nullptr, 0, 20);
  }
  return false;
}

}  // namespace revkv::testing
