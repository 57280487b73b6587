// python3-etcd3, Debian's gRPC client library for etcd's v3 API, against revkvd's gRPC
// door: tests/etcdapi/python_etcd3_test.py run by Debian's /usr/bin/python3 (the python3
// on PATH may be another one, without the library). The same script runs against a real
// etcd 3.4 (Debian's etcd-server) started here, so every assertion it makes is proven
// against the reference. Cases report themselves skipped where python3-etcd3 or etcd is
// not installed (scripts/setup installs both).

#include "tests/etcdapi/etcd_process.hpp"
#include "tests/etcdapi/etcdctl_run.hpp"
#include "tests/node/node_process.hpp"
#include "tests/skip.hpp"
#include "tests/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <sys/wait.h>

namespace revkv {
namespace {

using testing::report_skipped;

const char* const kPython = "/usr/bin/python3";

std::string script_path() {
  if (const char* env = std::getenv("PYTHON_ETCD3_TEST_SCRIPT"); env && *env) return env;
#ifdef PYTHON_ETCD3_TEST_SCRIPT
  return PYTHON_ETCD3_TEST_SCRIPT;
#else
  return "tests/etcdapi/python_etcd3_test.py";
#endif
}

// The script's output (stdout and stderr) and exit status. gRPC's Python channels honour
// http_proxy: unset, so that loopback is reached directly.
using ScriptRun = testing::Run;

ScriptRun run_script(const std::string& endpoint, const std::string& args) {
  return testing::run_shell("env -u http_proxy -u https_proxy -u HTTP_PROXY -u HTTPS_PROXY " +
                            std::string(kPython) + " " + script_path() + " " + endpoint + " " +
                            args + " 2>&1");
}

// False after reporting the running test skipped.
bool python_etcd3_or_skip() {
  if (std::filesystem::exists(kPython) &&
      std::system((std::string(kPython) + " -c 'import etcd3' >/dev/null 2>&1").c_str()) == 0) {
    return true;
  }
  report_skipped(
      "python3-etcd3 not installed for /usr/bin/python3 (Debian python3-etcd3; "
      "scripts/setup)");
  return false;
}

void require_passed(const ScriptRun& run) {
  INFO(run.out);
  CHECK(run.out.find("FAIL ") == std::string::npos);
  CHECK(run.out.find("PASS ") != std::string::npos);
  CHECK(run.status == 0);
}

TEST_CASE("python3-etcd3: KV, txns, leases, status, members, compaction and errors on revkvd",
          "[etcdapi][node][python]") {
  if (!python_etcd3_or_skip()) return;
  testing::TempDir dir;
  testing::NodeProcess node(dir.sub("node"), {"--shards", "3", "--sync", "never"});
  require_passed(
      run_script(node.grpc_endpoint(), "--skip watch=in-its-own-case,locks=in-its-own-case"));
  CHECK(node.stop() == 0);
}

// The Watch service's clients: watch, watch_prefix, watch_once, callbacks and cancel, a
// compacted start revision; locks contended by a second client and freed by lease expiry.
TEST_CASE("python3-etcd3: watches and locks on revkvd", "[etcdapi][node][python]") {
  if (!python_etcd3_or_skip()) return;
  testing::TempDir dir;
  testing::NodeProcess node(dir.sub("node"), {"--shards", "3", "--sync", "never"});
  require_passed(run_script(node.grpc_endpoint(), "--only watch,locks"));
  CHECK(node.stop() == 0);
}

TEST_CASE("python3-etcd3: the same script against a real etcd 3.4", "[etcdapi][python][etcd]") {
  if (!python_etcd3_or_skip()) return;
  auto etcd_binary = testing::find_etcd();
  if (etcd_binary.empty()) {
    report_skipped("etcd not installed (Debian etcd-server; scripts/setup)");
    return;
  }
  testing::TempDir dir;
  testing::EtcdProcess etcd(etcd_binary, dir.sub("etcd"));
  require_passed(run_script(etcd.endpoint(), ""));
  etcd.stop();  // etcd re-raises SIGTERM after its cleanup: no exit status to check
}

}  // namespace
}  // namespace revkv
