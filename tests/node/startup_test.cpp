// revkvd's start-up and shutdown as an operator meets them: sizes with units, listen URLs,
// unknown config keys, busy ports with the system's reason and nothing written to the data
// directory, one log format, and an exit soon after the "stopped" line.

#include "apps/revkvd/options.hpp"
#include "client/client.hpp"
#include "tests/monitoring/http_client.hpp"
#include "tests/node/node_process.hpp"
#include "tests/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <netinet/in.h>
#include <sstream>
#include <sys/socket.h>
#include <unistd.h>

using namespace revkv;

namespace {

// A listening socket on a free loopback port, held while the object lives (another
// process's listener, as revkvd would meet it).
class HeldPort {
 public:
  HeldPort() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(fd_, 1) == 0);
    socklen_t len = sizeof addr;
    REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    port_ = ntohs(addr.sin_port);
  }
  ~HeldPort() { ::close(fd_); }
  HeldPort(const HeldPort&) = delete;
  HeldPort& operator=(const HeldPort&) = delete;
  uint16_t port() const { return port_; }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

// revkvd's arguments: free ports for every listener and `data` as the data directory,
// with `flags` (flag -> value) replacing or adding to them.
std::vector<std::string> revkvd_args(const std::string& data,
                                     const std::map<std::string, std::string>& flags) {
  std::map<std::string, std::string> all = {{"--data-dir", data},
                                            {"--listen-client", "127.0.0.1:0"},
                                            {"--listen-grpc", "127.0.0.1:0"},
                                            {"--listen-metrics", "127.0.0.1:0"}};
  for (const auto& [flag, value] : flags)
    all[flag] = value;
  std::vector<std::string> args;
  for (const auto& [flag, value] : all)
    args.insert(args.end(), {flag, value});
  return args;
}

std::string loopback(uint16_t port) {
  return "127.0.0.1:" + std::to_string(port);
}

// Every non-empty line of `text`.
std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(line);
  return out;
}

}  // namespace

TEST_CASE("revkvd options: sizes take decimal and binary units", "[daemon][options]") {
  using apps::parse_size;
  CHECK(parse_size("1572864") == 1572864);
  CHECK(parse_size("0") == 0);
  CHECK(parse_size("512B") == 512);
  CHECK(parse_size("2KiB") == 2048);
  CHECK(parse_size("2kib") == 2048);
  CHECK(parse_size("2Ki") == 2048);
  CHECK(parse_size("8MiB") == 8 << 20);
  CHECK(parse_size("2GiB") == int64_t{2} << 30);
  CHECK(parse_size("1TiB") == int64_t{1} << 40);
  CHECK(parse_size("500KB") == 500000);
  CHECK(parse_size("500K") == 500000);
  CHECK(parse_size("3MB") == 3000000);
  CHECK(parse_size("2GB") == 2000000000);
  CHECK(parse_size("1.5GiB") == (int64_t{3} << 29));
  CHECK(parse_size("9223372036854775807") == INT64_MAX);
  CHECK_FALSE(parse_size(""));
  CHECK_FALSE(parse_size("GiB"));
  CHECK_FALSE(parse_size("-1"));
  CHECK_FALSE(parse_size("1.5"));  // a fraction of a byte
  CHECK_FALSE(parse_size("2 GiB"));
  CHECK_FALSE(parse_size("2XB"));
  CHECK_FALSE(parse_size("9223372036854775808"));
  CHECK_FALSE(parse_size("10000000TiB"));
}

TEST_CASE("revkvd options: listen addresses as HOST:PORT or etcd's http:// URLs",
          "[daemon][options]") {
  std::string host;
  uint16_t port = 0;
  REQUIRE(apps::split_host_port("127.0.0.1:2379", host, port));
  CHECK((host == "127.0.0.1" && port == 2379));
  REQUIRE(apps::split_host_port("http://127.0.0.1:2380/", host, port));
  CHECK((host == "127.0.0.1" && port == 2380));
  REQUIRE(apps::split_host_port("http://localhost:0", host, port));
  CHECK((host == "localhost" && port == 0));
  CHECK_FALSE(apps::split_host_port("http://127.0.0.1", host, port));
  CHECK_FALSE(apps::split_host_port("127.0.0.1:65536", host, port));
  CHECK_FALSE(apps::split_host_port("ftp://127.0.0.1:21", host, port));
}

TEST_CASE("revkvd: bad values name their flag, exit 1 and write nothing", "[node][daemon]") {
  testing::TempDir dir;
  const std::string data = dir.sub("data");
  struct Case {
    std::map<std::string, std::string> flags;
    std::string says;
  };
  const std::vector<Case> cases = {
      {{{"--quota-backend-bytes", "lots"}}, "--quota-backend-bytes: expected a byte count"},
      {{{"--quota-backend-bytes", "-5"}}, "--quota-backend-bytes"},
      {{{"--max-request-bytes", "1GiB"}}, "--max-request-bytes: expected 1 to 67108864 bytes"},
      {{{"--max-request-bytes", "0"}}, "--max-request-bytes"},
      {{{"--listen-grpc", "https://127.0.0.1:0"}}, "https:// needs TLS"},
      {{{"--listen-client", "127.0.0.1"}}, "--listen-client: expected HOST:PORT"},
      {{{"--log-format", "xml"}}, "--log-format: expected json or text, got 'xml'"},
      {{{"--shards", "many"}}, "--shards"},
      {{{"--max-txn-ops", "0"}}, "--max-txn-ops"},
      {{{"--config", dir.sub("missing.yaml")}}, "missing.yaml"},
  };
  for (const auto& c : cases) {
    INFO(c.flags.begin()->first << " " << c.flags.begin()->second);
    auto [status, err] = testing::run_revkvd(revkvd_args(data, c.flags));
    CHECK(status == 1);
    CHECK(err.find(c.says) != std::string::npos);
    CHECK(lines_of(err).size() == 1);
    CHECK_FALSE(std::filesystem::exists(data));
  }
}

TEST_CASE("revkvd: an unknown key in the config file is refused by name", "[node][daemon]") {
  testing::TempDir dir;
  std::ofstream(dir.sub("node.yaml")) << "shards: 2\nquota_backend_byte: 8GiB\n";
  auto [status, err] =
      testing::run_revkvd({"--config", dir.sub("node.yaml"), "--data-dir", dir.sub("data")});
  CHECK(status == 1);
  CHECK(err.find("unknown key 'quota_backend_byte'") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(dir.sub("data")));
  // A test-only flag is no config key either.
  std::ofstream(dir.sub("hooks.yaml")) << "test_hooks: true\n";
  auto hooks = testing::run_revkvd({"--config", dir.sub("hooks.yaml")});
  CHECK(hooks.first == 1);
  CHECK(hooks.second.find("unknown key 'test_hooks'") != std::string::npos);
}

TEST_CASE("revkvd: a busy port says why, for every listener, before the data directory",
          "[node][daemon]") {
  testing::TempDir dir;
  const std::string data = dir.sub("data");
  HeldPort held;
  for (const std::string flag : {"--listen-client", "--listen-grpc", "--listen-metrics"}) {
    INFO(flag);
    auto [status, err] = testing::run_revkvd(revkvd_args(data, {{flag, loopback(held.port())}}));
    CHECK(status == 1);
    CHECK(err.find("cannot listen on " + loopback(held.port())) != std::string::npos);
    CHECK(err.find(flag) != std::string::npos);
    CHECK(err.find("address already in use") != std::string::npos);
    CHECK(lines_of(err).size() == 1);
    CHECK_FALSE(std::filesystem::exists(data));
  }
  auto [status, err] = testing::run_revkvd(revkvd_args(
      data, {{"--listen-client", "127.0.0.1:7"}, {"--listen-grpc", "http://127.0.0.1:7/"}}));
  CHECK(status == 1);
  CHECK(err.find("--listen-grpc and --listen-client both name 127.0.0.1:7") != std::string::npos);
}

TEST_CASE("test harness: a revkvd that exits before ready is reported with its log's end",
          "[node][daemon]") {
  // What lets the cluster harness tell a port taken by another test's process (tried again
  // on new ports) from any other failed start (tests/cluster/revkvd_cluster.hpp).
  testing::TempDir dir;
  HeldPort held;
  std::string why;
  try {
    testing::NodeProcess node(dir.sub("data"), {"--listen-client", loopback(held.port())},
                              dir.sub("node.log"));
  } catch (const std::runtime_error& e) {
    why = e.what();
  }
  INFO(why);
  CHECK(why.find("revkvd exited (1) before ready") != std::string::npos);
  CHECK(why.find("cannot listen on " + loopback(held.port())) != std::string::npos);
}

TEST_CASE("revkvd: sizes with units and http:// listen URLs start a node", "[node][daemon]") {
  testing::TempDir dir;
  testing::NodeProcess node(dir.sub("data"),
                            {"--quota-backend-bytes", "64MiB", "--max-request-bytes", "2KiB",
                             "--listen-grpc", "http://127.0.0.1:0/"});
  auto c = std::move(client::Client::connect(node.endpoint())).value();
  CHECK(c.put(storage::PutRequest{"k", std::string(1000, 'v')}).ok());
  auto refused = c.put(storage::PutRequest{"k", std::string(3000, 'v')});
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().message == "etcdserver: request is too large");
  CHECK(node.stop() == 0);
}

TEST_CASE("revkvd: every log line in one format, whichever --log-format names", "[node][daemon]") {
  testing::TempDir dir;
  for (const std::string format : {"json", "text"}) {
    INFO(format);
    const std::string log = dir.sub("log-" + format);
    // The data directory is logged: with a quote and a backslash in its name, the JSON
    // line must escape them to stay one parsable object.
    const std::string data = dir.sub("da\"ta\\" + format);
    {
      testing::NodeProcess node(data, {"--log-format", format, "--log-level", "info"}, log);
      auto c = std::move(client::Client::connect(node.endpoint())).value();
      CHECK(c.put(storage::PutRequest{"k", "v"}).ok());
      CHECK(node.stop() == 0);
    }
    std::ifstream in(log);
    std::stringstream text;
    text << in.rdbuf();
    auto lines = lines_of(text.str());
    REQUIRE(lines.size() >= 3);  // serving, signal, stopped
    for (const auto& line : lines) {
      INFO(line);
      if (format == "json") {
        CHECK(line.rfind(R"({"ts":")", 0) == 0);
        CHECK(line.back() == '}');
        CHECK(line.find(R"(","msg":")") != std::string::npos);
      } else {
        CHECK(line.find('{') != 0);
        CHECK(line.find(" info ") != std::string::npos);
      }
    }
    CHECK(lines.back().find("stopped") != std::string::npos);
    const std::string logged =
        format == "json" ? std::string("da\\\"ta\\\\json") : std::string("da\"ta\\text");
    CHECK(text.str().find(logged) != std::string::npos);
  }
}

TEST_CASE("revkvd: the metrics listener answers 404, 405 and over-size headers clearly",
          "[node][daemon][metrics]") {
  testing::TempDir dir;
  testing::NodeProcess node(dir.sub("data"));
  CHECK(testing::http_get(node.metrics_port(), "/metrics").status == 200);
  CHECK(testing::http_get(node.metrics_port(), "/metrics?x=1").status == 200);
  CHECK(testing::http_get(node.metrics_port(), "/nothing").status == 404);
  CHECK(testing::http_get(node.metrics_port(), "/metrics/more").status == 404);
  auto post = testing::http_request(node.metrics_port(), "POST", "/metrics");
  CHECK(post.status == 405);
  auto huge = testing::http_get(node.metrics_port(), "/health?" + std::string(20000, 'a'));
  CHECK(huge.status == 431);
  CHECK(testing::http_get(node.metrics_port(), "/health").status == 200);
  CHECK(node.stop() == 0);
}
