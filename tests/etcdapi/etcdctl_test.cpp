// etcdctl 3.4 (Debian's etcd-client) against revkvd's gRPC door: put, get, del, txn and
// compaction with the output etcd's own server makes it print. Skipped, not passed, where
// etcdctl is not installed (scripts/setup installs it).

#include "tests/node/node_process.hpp"
#include "tests/skip.hpp"
#include "tests/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <array>
#include <cstdio>
#include <filesystem>
#include <string>
#include <sys/wait.h>

namespace revkv {
namespace {

std::string find_etcdctl() {
  // ETCDCTL_PATH overrides the search; one that does not exist means "not installed".
  if (const char* env = std::getenv("ETCDCTL_PATH"); env && *env)
    return std::filesystem::exists(env) ? env : "";
  for (const char* p : {"/usr/bin/etcdctl", "/usr/local/bin/etcdctl"})
    if (std::filesystem::exists(p)) return p;
  return "";
}

struct Run {
  int status = -1;
  std::string out;  // stdout and stderr together
};

// `args` go through the shell: the callers quote what needs quoting. `input` is stdin.
Run etcdctl(const std::string& bin, const std::string& endpoint, const std::string& args,
            const std::string& input = "") {
  std::string cmd = "printf '%s' '" + input + "' | ETCDCTL_API=3 " + bin +
                    " --endpoints=" + endpoint + " --dial-timeout=5s --command-timeout=10s " +
                    args + " 2>&1";
  Run r;
  FILE* p = ::popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  std::array<char, 4096> buf{};
  size_t n = 0;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0)
    r.out.append(buf.data(), n);
  int status = ::pclose(p);
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

TEST_CASE("etcdctl 3.4 put/get/del/txn/compaction against revkvd", "[etcdapi][node]") {
  auto bin = find_etcdctl();
  if (bin.empty()) {
    testing::report_skipped("etcdctl not installed (Debian etcd-client; scripts/setup)");
    return;
  }
  testing::TempDir dir;
  testing::NodeProcess node(dir.sub("data"), {"--sync", "never"});
  auto ep = node.grpc_endpoint();
  auto run = [&](const std::string& args, const std::string& input = "") {
    auto r = etcdctl(bin, ep, args, input);
    INFO("etcdctl " << args << "\n" << r.out);
    return r;
  };

  auto put = run("put foo bar");
  CHECK(put.status == 0);
  CHECK(put.out == "OK\n");
  CHECK(run("put foo baz --prev-kv").out == "OK\nfoo\nbar\n");
  CHECK(run("put foo2 v2").out == "OK\n");
  CHECK(run("get foo").out == "foo\nbaz\n");
  CHECK(run("get foo --prefix").out == "foo\nbaz\nfoo2\nv2\n");
  CHECK(run("get foo --prefix --keys-only").out == "foo\n\nfoo2\n\n");
  // etcdctl 3.4 has no --count-only (the C++ test covers count_only); -w fields shows Count.
  CHECK(run("get foo --prefix -w fields").out.find("\"Count\" : 2") != std::string::npos);
  CHECK(run("get foo --prefix --limit=1 --print-value-only").out == "baz\n");
  CHECK(run("get foo --rev=2").out == "foo\nbar\n");
  auto json = run("get foo -w json").out;
  CHECK(json.find("\"revision\":4") != std::string::npos);
  CHECK(json.find("\"raft_term\":") != std::string::npos);
  CHECK(json.find("\"kvs\":[{\"key\":\"Zm9v\"") != std::string::npos);

  // Interactive txn: compares, success ops, failure ops, each block ended by a blank line.
  auto ok = run("txn", "value(\"foo\") = \"baz\"\n\nput t yes\nget foo\n\nput t no\n\n");
  CHECK(ok.out == "SUCCESS\n\nOK\n\nfoo\nbaz\n");
  auto failed = run("txn", "mod(\"foo\") > \"1000\"\n\nput t yes\n\nput t no\n\n");
  CHECK(failed.out == "FAILURE\n\nOK\n");
  CHECK(run("get t --print-value-only").out == "no\n");

  CHECK(run("del foo --prev-kv").out == "1\nfoo\nbaz\n");
  CHECK(run("del nothing").out == "0\n");

  CHECK(run("compaction 3").out == "compacted revision 3\n");
  auto compacted = run("get foo --rev=2");
  CHECK(compacted.status != 0);
  CHECK(compacted.out.find("Error: etcdserver: mvcc: required revision has been compacted") !=
        std::string::npos);
  auto future = run("get foo --rev=1000");
  CHECK(future.status != 0);
  CHECK(future.out.find("Error: etcdserver: mvcc: required revision is a future revision") !=
        std::string::npos);
  auto empty = run("put '' x");
  CHECK(empty.status != 0);
  CHECK(empty.out.find("Error: etcdserver: key is not provided") != std::string::npos);
}

}  // namespace
}  // namespace revkv
