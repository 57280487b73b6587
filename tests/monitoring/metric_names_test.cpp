// Every revkv_ metric (and grpc_server_ one, go-grpc-prometheus's names for the gRPC door)
// the shipped dashboard (configs/grafana/revkv.json) and alert rules (configs/alerts.yml)
// name exists in the /metrics of a running node, so neither shows
// "no data" for a typo or a renamed family. A histogram is named through its _bucket,
// _sum and _count series.

#include "tests/monitoring/http_client.hpp"
#include "tests/node/node_process.hpp"
#include "tests/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

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
    CHECK(exported(fams, name));
  }
  CHECK(node.stop() == 0);
}
