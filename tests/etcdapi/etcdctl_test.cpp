// etcdctl 3.4 (Debian's etcd-client) against revkvd's gRPC door: put, get, del, txn and
// compaction with the output etcd's own server makes it print. Skipped, not passed, where
// etcdctl is not installed (scripts/setup installs it).

#include "tests/etcdapi/etcdctl_run.hpp"
#include "tests/node/node_process.hpp"
#include "tests/skip.hpp"
#include "tests/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <string>

namespace revkv {
namespace {

TEST_CASE("etcdctl 3.4 put/get/del/txn/compaction against revkvd", "[etcdapi][node]") {
  auto bin = testing::etcdctl_or_skip();
  if (bin.empty()) return;
  testing::TempDir dir;
  testing::NodeProcess node(dir.sub("data"), {"--sync", "never"});
  auto ep = node.grpc_endpoint();
  auto run = [&](const std::string& args, const std::string& input = "") {
    auto r = testing::etcdctl(bin, ep, args, input);
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
