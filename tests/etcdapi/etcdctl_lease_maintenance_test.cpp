// etcdctl 3.4 (Debian's etcd-client) against revkvd's gRPC door: the lease verbs, endpoint
// status/hashkv, alarm list, defrag, snapshot save and member list, with the output etcd's own
// server makes etcdctl print. Skipped, not passed, where etcdctl is not installed.

#include "client/client.hpp"
#include "tests/etcdapi/etcdctl_run.hpp"
#include "tests/node/node_process.hpp"
#include "tests/skip.hpp"
#include "tests/temp_dir.hpp"
#include "util/sha256.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>

namespace revkv {
namespace {

using namespace std::chrono_literals;

// As etcdctl prints member ids (%x).
std::string hex(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%llx", static_cast<unsigned long long>(v));
  return buf;
}

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

TEST_CASE("etcdctl 3.4 lease, endpoint, alarm, defrag and member verbs against revkvd",
          "[etcdapi][node]") {
  auto bin = testing::etcdctl_or_skip();
  if (bin.empty()) return;
  testing::TempDir dir;
  testing::NodeProcess node(dir.sub("data"), {"--sync", "never"});
  auto ep = node.grpc_endpoint();
  auto run = [&](const std::string& args) {
    auto r = testing::etcdctl(bin, ep, args);
    INFO("etcdctl " << args << "\n" << r.out);
    return r;
  };
  client::ClientOptions o;
  o.request_timeout = 10000ms;
  auto connected = client::Client::connect(node.endpoint(), o);
  REQUIRE(connected.ok());
  auto& mp = connected.value();
  const uint64_t member = mp.status().value().header.member_id;

  // Leases. etcdctl 3.4 has no --id: the node picks the id (ID 0), printed as %016x.
  auto granted = run("lease grant 60").out;
  REQUIRE(granted.size() > 6 + 16);
  const std::string id = granted.substr(6, 16);
  CHECK(granted == "lease " + id + " granted with TTL(60s)\n");
  CHECK(run("put --lease=" + id + " k1 v1").out == "OK\n");
  auto ttl = run("lease timetolive --keys " + id).out;
  CHECK(starts_with(ttl, "lease " + id + " granted with TTL(60s), remaining("));
  CHECK(ttl.find("s), attached keys([k1])\n") != std::string::npos);
  CHECK(run("lease list").out == "found 1 leases\n" + id + "\n");
  CHECK(run("lease keep-alive --once " + id).out == "lease " + id + " keepalived with TTL(60)\n");
  CHECK(run("lease revoke " + id).out == "lease " + id + " revoked\n");
  CHECK(run("lease timetolive " + id).out == "lease " + id + " already expired\n");
  CHECK(run("get k1").out == "");
  auto gone = run("lease keep-alive --once " + id);
  CHECK(gone.status != 0);
  CHECK(gone.out.find("Error: etcdserver: requested lease not found") != std::string::npos);
  auto revoked = run("lease revoke " + id);
  CHECK(revoked.status != 0);
  CHECK(revoked.out.find("Error: failed to revoke lease (etcdserver: requested lease not found)") !=
        std::string::npos);
  CHECK(run("lease list").out == "found 0 leases\n");

  // endpoint status: endpoint, member id, version, db size, is leader, is learner, raft
  // term, raft index, raft applied index, errors.
  auto status = run("endpoint status");
  CHECK(status.status == 0);
  CHECK(starts_with(status.out, ep + ", " + hex(member) + ", revkv "));
  CHECK(status.out.find(", true, false, 1, ") != std::string::npos);
  auto json = run("endpoint status -w json").out;
  CHECK(json.find("\"member_id\":" + std::to_string(member)) != std::string::npos);
  CHECK(json.find("\"leader\":" + std::to_string(member)) != std::string::npos);

  // endpoint hashkv: the same hash the MessagePack door reports.
  auto hash = mp.hash_kv({0});
  REQUIRE(hash.ok());
  CHECK(run("endpoint hashkv").out == ep + ", " + std::to_string(hash.value().hash) + "\n");

  CHECK(run("alarm list").out == "");
  REQUIRE(mp.alarm({protocol::AlarmAction::activate, member, protocol::AlarmType::nospace}).ok());
  auto alarms = run("alarm list").out;
  CHECK(alarms.find("memberID:" + std::to_string(member) + " alarm:NOSPACE") != std::string::npos);
  auto put = run("put x y");
  CHECK(put.status != 0);
  CHECK(put.out.find("Error: etcdserver: mvcc: database space exceeded") != std::string::npos);
  // etcd answers the disarm with the alarm it cleared; etcdctl prints it.
  CHECK(run("alarm disarm").out.find("alarm:NOSPACE") != std::string::npos);
  CHECK(run("alarm list").out == "");
  CHECK(run("put x y").out == "OK\n");

  CHECK(run("defrag").out == "Finished defragmenting etcd member[" + ep + "]\n");

  // snapshot save: revkv's tar (not a bbolt file: `snapshot status/restore` are etcd's
  // own formats, revkvctl restores it), with etcd's trailing SHA-256 of what precedes it.
  const auto snap = dir.sub("snap.db");
  CHECK(run("snapshot save " + snap).out.find("Snapshot saved at " + snap) != std::string::npos);
  std::ifstream in(snap, std::ios::binary);
  std::string saved((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  REQUIRE(saved.size() > 32);
  util::Sha256 sha;
  sha.update(std::string_view(saved).substr(0, saved.size() - 32));
  CHECK(saved.substr(saved.size() - 32) == sha.finish());

  // member list: id, status, name, peer URLs (none: nothing listens for peers), client
  // URLs, is learner.
  CHECK(run("member list").out == hex(member) + ", started, default, , http://" + ep + ", false\n");
}

}  // namespace
}  // namespace revkv
