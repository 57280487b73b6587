// The NOSPACE alarm through the Raft log (docs/CLUSTER.md "The NOSPACE alarm"): the leader's
// quota raises it as a state change every member applies, so every member lists it, refuses
// writes with etcd's error and reports it on /health, also after a restart; a disarm sent to
// a follower is forwarded and clears it everywhere. And etcdctl 3.4 with a follower-only
// endpoint drives auth changes, authenticated writes and reads, and the alarm (docs/CLUSTER.md
// "Forwarding").

#include "client/client.hpp"
#include "tests/cluster/revkvd_cluster.hpp"
#include "tests/etcdapi/etcdctl_run.hpp"
#include "tests/monitoring/http_client.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <etcdserverpb/rpc.grpc.pb.h>
#include <grpcpp/grpcpp.h>
#include <optional>
#include <string>

using namespace revkv;
using testing::Cluster;
using testing::eventually;

namespace {

// Small enough that a few dozen 64 KiB values pass it (the single node's quota test uses it).
const std::vector<std::string> kQuota = {"--quota-backend-bytes", "3000000"};
constexpr const char* kNoSpace = "etcdserver: mvcc: database space exceeded";

// Puts 64 KiB values through `c` until one is refused other than with Unavailable (which a
// client retries: "not leader" before the leader published its address, or a forwarded
// put that timed out on a busy machine); that refusal. First waits until `c`'s member
// forwards at all (a follower answers "not leader" at once until the leader has published
// where it serves, which would use up the attempts in no time).
std::optional<protocol::WireError> fill_until_refused(client::Client& c) {
  REQUIRE(eventually([&] { return c.put(storage::PutRequest{"fill-probe", "x"}).ok(); }));
  const std::string value(64 * 1024, 'x');
  for (int i = 0; i < 400; ++i) {
    auto put = c.put(storage::PutRequest{"k" + std::to_string(i % 8), value});
    if (!put.ok() && put.error().code != 14) return put.error();
  }
  return std::nullopt;
}

// The alarms member i lists (Maintenance.Alarm GET, answered from its own applied state).
std::optional<std::vector<protocol::AlarmMember>> alarms_of(
    Cluster& cluster, size_t i, const std::optional<std::string>& token = {}) {
  auto c = client::Client::connect(cluster.member(i).endpoint());
  if (!c.ok()) return std::nullopt;
  c.value().set_token(token);
  auto got = c.value().alarm(protocol::AlarmRequest{});
  if (!got.ok()) return std::nullopt;
  return got.value().alarms;
}

bool lists_nospace_of(Cluster& cluster, size_t i, uint64_t member) {
  auto alarms = alarms_of(cluster, i);
  return alarms && alarms->size() == 1 && (*alarms)[0].alarm == protocol::AlarmType::nospace &&
         (*alarms)[0].member_id == member;
}

bool lists_none(Cluster& cluster, size_t i) {
  auto alarms = alarms_of(cluster, i);
  return alarms && alarms->empty();
}

int health_of(Cluster& cluster, size_t i) {
  return testing::http_get(cluster.member(i).metrics_port(), "/health").status;
}

uint64_t member_id_of(Cluster& cluster, size_t i) {
  auto s = cluster.connect(i).status();
  REQUIRE(s.ok());
  return s.value().header.member_id;
}

// Stops member i with SIGTERM; it must exit 0 (its log is in the message otherwise).
void stop_member(Cluster& cluster, size_t i) {
  int status = cluster.stop(i, std::chrono::seconds(20));
  INFO(cluster.log(i));
  REQUIRE(status == 0);
}

}  // namespace

TEST_CASE("alarm: the quota's NOSPACE alarm is applied by every member and cleared from a follower",
          "[cluster][process][alarm]") {
  Cluster cluster(3, kQuota);
  auto leader = cluster.find_leader(std::chrono::seconds(20));
  REQUIRE(leader);
  const size_t follower = (*leader + 1) % cluster.size();
  const size_t other = (*leader + 2) % cluster.size();
  const uint64_t leader_id = member_id_of(cluster, *leader);

  // Filled through a follower: the leader's quota refuses, and its answer is relayed.
  auto f = cluster.connect(follower);
  auto refused = fill_until_refused(f);
  REQUIRE(refused);
  CHECK(refused->code == 8);
  CHECK(refused->message == kNoSpace);

  // Every member applied the alarm: the same list (the leader's quota raised it), writes
  // refused through every member, /health 503 everywhere.
  for (size_t i = 0; i < cluster.size(); ++i) {
    CAPTURE(i);
    CHECK(eventually([&] { return lists_nospace_of(cluster, i, leader_id); }));
    CHECK(eventually([&] { return health_of(cluster, i) == 503; }));
    auto tiny = cluster.connect(i).put(storage::PutRequest{"t", "1"});
    REQUIRE_FALSE(tiny.ok());
    CHECK(tiny.error().code == 8);
    CHECK(tiny.error().message == kNoSpace);
  }

  // A restarted follower has it from its own store at once.
  stop_member(cluster, other);
  cluster.start(other);
  CHECK(lists_nospace_of(cluster, other, leader_id));
  CHECK(health_of(cluster, other) == 503);

  // Cleared through the follower: delete, compact (forwarded), defragment every member
  // (Defragment is each member's own, as in etcd), disarm (forwarded).
  auto deleted = f.delete_range(storage::DeleteRangeRequest{"k", std::string("l"), false});
  REQUIRE(deleted.ok());
  REQUIRE(f.compact(protocol::CompactionRequest{deleted.value().response.revision, true}).ok());
  for (size_t i = 0; i < cluster.size(); ++i)
    REQUIRE(eventually([&] { return cluster.connect(i).defragment().ok(); }));
  protocol::AlarmRequest disarm;
  disarm.action = protocol::AlarmAction::deactivate;
  disarm.member_id = leader_id;
  disarm.alarm = protocol::AlarmType::nospace;
  auto disarmed = f.alarm(disarm);
  REQUIRE(disarmed.ok());
  // etcd answers a disarm with the alarm it cleared: the leader's answer, relayed.
  REQUIRE(disarmed.value().alarms.size() == 1);
  CHECK(disarmed.value().alarms[0].member_id == leader_id);
  // The follower answered the disarm once it applied it (as etcd's member answers its own
  // proposal): its list, answered from its own copy, says so right after.
  CHECK(lists_none(cluster, follower));
  for (size_t i = 0; i < cluster.size(); ++i) {
    CAPTURE(i);
    CHECK(eventually([&] { return lists_none(cluster, i); }));
    CHECK(eventually([&] { return health_of(cluster, i) == 200; }));
  }
  CHECK(f.put(storage::PutRequest{"t", "1"}).ok());

  // A restarted member stays cleared; every member holds the same store.
  stop_member(cluster, other);
  cluster.start(other);
  CHECK(lists_none(cluster, other));
  // (Forwarded once it knows the leader again.)
  CHECK(eventually([&] { return cluster.connect(other).put(storage::PutRequest{"t", "2"}).ok(); }));
  CHECK(eventually([&] { return testing::same_hash(cluster); }));
}

TEST_CASE("alarm: etcdctl with only a follower's endpoint changes auth, writes and disarms",
          "[cluster][process][alarm][auth]") {
  auto bin = testing::etcdctl_or_skip();
  if (bin.empty()) return;
  Cluster cluster(3, kQuota);
  auto leader = cluster.find_leader(std::chrono::seconds(20));
  REQUIRE(leader);
  const size_t follower = (*leader + 1) % cluster.size();
  const uint64_t leader_id = member_id_of(cluster, *leader);
  const std::string at = cluster.member(follower).grpc_endpoint();
  auto ctl = [&](const std::string& args) { return testing::etcdctl(bin, at, args); };
  const std::string root = "--user root:rootpw ";

  // Auth changes, forwarded (the first one once the leader has published its address).
  REQUIRE(eventually([&] { return ctl("user add root:rootpw").out == "User root created\n"; }));
  CHECK(ctl("role add reader").out == "Role reader created\n");
  CHECK(ctl("user grant-role root root").out == "Role root is granted to user root\n");
  auto enabled = ctl("auth enable");
  CAPTURE(enabled.out);
  CHECK(enabled.out == "Authentication Enabled\n");
  // Authenticate (etcdctl's --user) is forwarded; its token then works on the follower.
  auto put = ctl(root + "put k1 v1");
  CAPTURE(put.out);
  CHECK(put.out == "OK\n");
  CHECK(ctl(root + "get k1 --print-value-only").out == "v1\n");
  // Served by the follower itself once it applied the put.
  CHECK(eventually(
      [&] { return ctl(root + "--consistency=s get k1 --print-value-only").out == "v1\n"; }));
  // With auth on, a change without a token is not forwarded (it would run as this
  // member's certificate on the leader).
  auto anonymous = ctl("role add other");
  CAPTURE(anonymous.out);
  CHECK(anonymous.status != 0);
  CHECK(ctl(root + "role add other").out == "Role other created\n");
  // Every member knows the role.
  for (size_t i = 0; i < cluster.size(); ++i) {
    CHECK(eventually([&] {
      auto list = testing::etcdctl(bin, cluster.member(i).grpc_endpoint(), root + "role list");
      return list.out.find("other\n") != std::string::npos;
    }));
  }

  // The alarm: the quota filled through the follower's MessagePack door, authenticated
  // there (the Authenticate is forwarded on that door too).
  auto f = cluster.connect(follower);
  REQUIRE(f.authenticate("root", "rootpw").ok());
  auto refused = fill_until_refused(f);
  REQUIRE(refused);
  CHECK(refused->message == kNoSpace);
  const std::string listed = "memberID:" + std::to_string(leader_id) + " alarm:NOSPACE";
  for (size_t i = 0; i < cluster.size(); ++i) {
    CHECK(eventually([&] {
      auto list = testing::etcdctl(bin, cluster.member(i).grpc_endpoint(), root + "alarm list");
      return list.out.find(listed) != std::string::npos;
    }));
  }
  auto nospace = ctl(root + "put x y");
  CHECK(nospace.status != 0);
  CHECK(nospace.out.find(std::string("Error: ") + kNoSpace) != std::string::npos);

  auto deleted = ctl(root + "del k --prefix -w json");
  CAPTURE(deleted.out);
  auto rev_at = deleted.out.find("\"revision\":");
  REQUIRE(rev_at != std::string::npos);
  auto compacted =
      ctl(root + "compaction --physical " +
          deleted.out.substr(rev_at + 11, deleted.out.find_first_of(",}", rev_at) - rev_at - 11));
  CAPTURE(compacted.out);
  CHECK(compacted.status == 0);
  for (size_t i = 0; i < cluster.size(); ++i) {
    const auto ep = cluster.member(i).grpc_endpoint();
    CHECK(testing::etcdctl(bin, ep, root + "defrag").out ==
          "Finished defragmenting etcd member[" + ep + "]\n");
  }
  auto disarmed = ctl(root + "alarm disarm");
  CAPTURE(disarmed.out);
  CHECK(disarmed.out.find(listed) != std::string::npos);
  for (size_t i = 0; i < cluster.size(); ++i) {
    CHECK(eventually([&] {
      return testing::etcdctl(bin, cluster.member(i).grpc_endpoint(), root + "alarm list").out ==
             "";
    }));
  }
  CHECK(ctl(root + "put x y").out == "OK\n");
}

TEST_CASE("alarm: a request that changes no alarm gets the same answer from every member",
          "[cluster][alarm]") {
  // An action etcd's enum lacks, a type other than NOSPACE to raise, CORRUPT to clear: the
  // leader answers each with the list and changes nothing; a follower must answer the same,
  // not forward what changes nothing (over the MessagePack door, whose enums are closed).
  Cluster cluster(3);
  const size_t leader = cluster.require_leader();
  struct Case {
    int action;
    int alarm;
  };
  for (const Case c : {Case{3, 1}, Case{-1, 0}, Case{1, 2}, Case{1, 7}, Case{2, 2}, Case{2, 7}}) {
    CAPTURE(c.action, c.alarm);
    for (size_t i = 0; i < cluster.size(); ++i) {
      CAPTURE(i, leader);
      auto stub = etcdserverpb::Maintenance::NewStub(grpc::CreateChannel(
          cluster.member(i).grpc_endpoint(), grpc::InsecureChannelCredentials()));
      etcdserverpb::AlarmRequest request;
      request.set_action(static_cast<etcdserverpb::AlarmRequest_AlarmAction>(c.action));
      request.set_alarm(static_cast<etcdserverpb::AlarmType>(c.alarm));
      etcdserverpb::AlarmResponse response;
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
      const auto status = stub->Alarm(&context, request, &response);
      INFO(status.error_code() << " " << status.error_message());
      CHECK(status.ok());
      CHECK(response.alarms_size() == 0);
    }
  }
  for (size_t i = 0; i < cluster.size(); ++i) {
    auto alarms = alarms_of(cluster, i);
    REQUIRE(alarms);
    CHECK(alarms->empty());
  }
}
