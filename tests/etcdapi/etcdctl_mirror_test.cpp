// Moving data between etcd and revkvd with etcdctl 3.4's make-mirror (docs/FROM_ETCD.md):
// a live etcd 3.4 mirrored into revkvd — the keys under a prefix, then the changes made
// while it runs — and revkvd mirrored back into etcd. make-mirror reads with Range and
// Watch and writes with Txn, so both servers' KV and Watch APIs are on the path.

#include "tests/etcdapi/background_etcdctl.hpp"
#include "tests/etcdapi/etcd_process.hpp"
#include "tests/etcdapi/etcdctl_run.hpp"
#include "tests/node/node_process.hpp"
#include "tests/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <thread>

namespace revkv {
namespace {

using namespace std::chrono_literals;

// `etcdctl get --prefix` at `endpoint`: keys and values, one per line.
std::string listing(const std::string& etcdctl, const std::string& endpoint,
                    const std::string& prefix) {
  return testing::etcdctl(etcdctl, endpoint, "get --prefix " + prefix).out;
}

// Whether `endpoint` lists `expected` under `prefix` within 30 s.
bool lists_within(const std::string& etcdctl, const std::string& endpoint,
                  const std::string& prefix, const std::string& expected) {
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (std::chrono::steady_clock::now() < deadline) {
    if (listing(etcdctl, endpoint, prefix) == expected) return true;
    std::this_thread::sleep_for(100ms);  // polling interval, not synchronization
  }
  return false;
}

}  // namespace

TEST_CASE("etcdctl make-mirror copies a live etcd 3.4 into revkvd, and revkvd back into etcd",
          "[etcdapi][node][reference]") {
  auto etcdctl = testing::etcdctl_or_skip();
  if (etcdctl.empty()) return;
  auto etcd_bin = testing::etcd_or_skip();
  if (etcd_bin.empty()) return;
  testing::TempDir dir;
  testing::EtcdProcess etcd(etcd_bin, dir.sub("etcd"));
  testing::NodeProcess revkvd(dir.sub("revkvd"), {"--sync", "never"});
  auto on = [&](const std::string& endpoint, const std::string& args) {
    auto run = testing::etcdctl(etcdctl, endpoint, args);
    INFO(args << ": " << run.out);
    REQUIRE(run.status == 0);
  };
  for (int i = 1; i <= 5; ++i)
    on(etcd.endpoint(), "put /app/k" + std::to_string(i) + " v" + std::to_string(i));
  on(etcd.endpoint(), "put /other/x y");

  {
    testing::BackgroundEtcdctl mirror(etcdctl, etcd.endpoint(),
                                      "make-mirror --prefix /app " + revkvd.grpc_endpoint());
    // The keys already there.
    const std::string before = listing(etcdctl, etcd.endpoint(), "/app");
    REQUIRE(before.find("/app/k5\nv5\n") != std::string::npos);
    CHECK(lists_within(etcdctl, revkvd.grpc_endpoint(), "/app", before));
    // The changes made while it runs: a new key, an overwrite, a delete.
    on(etcd.endpoint(), "put /app/k6 live");
    on(etcd.endpoint(), "put /app/k2 again");
    on(etcd.endpoint(), "del /app/k1");
    const std::string after = listing(etcdctl, etcd.endpoint(), "/app");
    CHECK(after.find("/app/k1\n") == std::string::npos);
    CHECK(lists_within(etcdctl, revkvd.grpc_endpoint(), "/app", after));
    INFO(mirror.output());
    CHECK(mirror.interrupt(10s) != -1);
  }
  // Only the prefix was mirrored.
  CHECK(listing(etcdctl, revkvd.grpc_endpoint(), "/other").empty());

  // And back: revkvd as the source, etcd as the destination.
  testing::BackgroundEtcdctl back(etcdctl, revkvd.grpc_endpoint(),
                                  "make-mirror --prefix /new " + etcd.endpoint());
  on(revkvd.grpc_endpoint(), "put /new/a 1");
  on(revkvd.grpc_endpoint(), "put /new/b 2");
  CHECK(lists_within(etcdctl, etcd.endpoint(), "/new", "/new/a\n1\n/new/b\n2\n"));
  INFO(back.output());
  CHECK(back.interrupt(10s) != -1);
}

}  // namespace revkv
