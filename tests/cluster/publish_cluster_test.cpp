// Followers publish their own client addresses (docs/CLUSTER.md "Membership"): the publish
// request on the catch-up port (apps/revkvd/publish_request.hpp) over a socketpair, its
// refusals on a real leader and follower, and a fresh 3-member cluster where every member is
// listed with its name and client URL without any move-leader, also after a follower moved
// to other client ports.

#include "actors/member_attributes.hpp"
#include "apps/revkvd/publish_request.hpp"
#include "tests/cluster/revkvctl_run.hpp"
#include "tests/cluster/revkvd_cluster.hpp"
#include "tests/etcdapi/etcdctl_run.hpp"
#include "tests/monitoring/http_client.hpp"
#include "util/unique_fd.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <sys/socket.h>
#include <sys/time.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace revkv {
namespace {

using namespace std::chrono_literals;
using testing::Cluster;
using testing::Ctl;
using testing::eventually;
using testing::revkvctl;

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

struct SocketPair {
  util::UniqueFd member, leader;
  SocketPair() {
    int fds[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0);
    member.reset(fds[0]);
    leader.reset(fds[1]);
  }
};

void send_all(int fd, const std::string& bytes) {
  REQUIRE(::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
          static_cast<ssize_t>(bytes.size()));
}

// Member i's catch-up port (remembered in its data directory at its first start).
uint16_t catchup_port(Cluster& cluster, size_t i) {
  std::ifstream in(cluster.data_dir(i) + "/catchup-port");
  unsigned port = 0;
  in >> port;
  REQUIRE(port > 0);
  return static_cast<uint16_t>(port);
}

// Sends `bytes` to a catch-up port and returns all it answers until it closes (bounded: the
// port reads a request within 5 s, a receive waits at most 20 s).
std::string exchange_raw(uint16_t port, const std::string& bytes) {
  const int fd = testing::connect_loopback(port);
  REQUIRE(fd >= 0);
  timeval limit{20, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
  ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
  std::string answer;
  char buf[512];
  for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;)
    answer.append(buf, static_cast<size_t>(n));
  ::close(fd);
  return answer;
}

std::string publish_request(const actors::MemberAttributes& attributes) {
  const auto payload = actors::encode_member_attributes(attributes);
  return "RKVPUBLISH1 " + std::to_string(payload.size()) + "\n" + payload;
}

uint64_t id_of(Cluster& cluster, size_t i) {
  auto s = cluster.connect(i).status();
  REQUIRE(s.ok());
  return s.value().header.member_id;
}

// Member `of`'s MessagePack client URLs as member `asked` lists them; empty when not listed.
std::vector<std::string> client_urls(Cluster& cluster, size_t asked, uint64_t of,
                                     std::string* name = nullptr) {
  auto c = client::Client::connect(cluster.member(asked).endpoint());
  if (!c.ok()) return {};
  auto list = c.value().member_list();
  if (!list.ok()) return {};
  for (const auto& m : list.value().members) {
    if (m.id != of) continue;
    if (name) *name = m.name;
    return m.client_urls;
  }
  return {};
}

// Every member lists every member with its name and current MessagePack client URL.
bool everyone_listed(Cluster& cluster, const std::vector<uint64_t>& ids) {
  for (size_t asked = 0; asked < cluster.size(); ++asked) {
    for (size_t of = 0; of < cluster.size(); ++of) {
      std::string name;
      auto urls = client_urls(cluster, asked, ids[of], &name);
      if (name != cluster.name(of) || urls.size() != 1 ||
          urls[0] != "http://" + cluster.member(of).endpoint())
        return false;
    }
  }
  return true;
}

TEST_CASE("publish request: the wire format and its refusals over a socketpair", "[cluster]") {
  std::string error;
  {
    INFO("a publish request and its OK");
    SocketPair pair;
    std::string refusal = "unset";
    std::optional<apps::CatchupPortRequest> request;
    // Catch's assertions stay on the test's thread: the other only reads and answers.
    std::thread leader([&] {
      std::string e;
      request = apps::read_catchup_port_request(pair.leader.get(), 5s, e);
      apps::answer_publish(pair.leader.get(), "", 5s);
    });
    CHECK(apps::exchange_publish(pair.member.get(), "attributes", 5s, refusal, error));
    leader.join();
    CHECK(refusal.empty());
    REQUIRE(request);
    CHECK(request->kind == apps::CatchupPortRequest::Kind::publish);
    CHECK(request->payload == "attributes");
  }
  {
    INFO("a refusal comes back as the leader's reason, on one line");
    SocketPair pair;
    std::string refusal;
    std::thread leader([&] {
      std::string e;
      apps::read_catchup_port_request(pair.leader.get(), 5s, e);
      apps::answer_publish(pair.leader.get(), "etcdserver: not leader\nsecond line", 5s);
    });
    CHECK(apps::exchange_publish(pair.member.get(), "x", 5s, refusal, error));
    leader.join();
    CHECK(refusal == "etcdserver: not leader second line");
  }
  auto read_after = [](const std::string& bytes) {
    SocketPair pair;
    send_all(pair.member.get(), bytes);
    ::shutdown(pair.member.get(), SHUT_WR);
    std::string e;
    return apps::read_catchup_port_request(pair.leader.get(), 5s, e);
  };
  auto checkpoint = read_after("RKVCATCHUP1\n");
  REQUIRE(checkpoint);
  CHECK(checkpoint->kind == apps::CatchupPortRequest::Kind::checkpoint);
  auto oversized = read_after("RKVPUBLISH1 4097\n");
  REQUIRE(oversized);
  CHECK(oversized->kind == apps::CatchupPortRequest::Kind::refused);
  CHECK(oversized->payload == "revkv: publish request of 4097 bytes (1 to 4096 allowed)");
  for (const std::string bad : {"RKVPUBLISH1 -1\n", "RKVPUBLISH1 12x\n", "RKVPUBLISH1 \n",
                                "RKVPUBLISH1 0012\n", "RKVPUBLISH1 99999999999999999999\n"}) {
    CAPTURE(bad);
    auto got = read_after(bad);
    REQUIRE(got);
    CHECK(got->kind == apps::CatchupPortRequest::Kind::refused);
    CHECK(got->payload == "revkv: malformed publish request (length)");
  }
  auto empty = read_after("RKVPUBLISH1 0\n");
  REQUIRE(empty);
  CHECK(empty->kind == apps::CatchupPortRequest::Kind::refused);
  auto garbage = read_after("GET / HTTP/1.0\n");
  REQUIRE(garbage);
  CHECK(garbage->kind == apps::CatchupPortRequest::Kind::refused);
  CHECK(garbage->payload == "revkv: not a catch-up port request");
  auto endless = read_after(std::string(1000, 'A'));  // no line end within the limit
  REQUIRE(endless);
  CHECK(endless->kind == apps::CatchupPortRequest::Kind::refused);
  // Cut short: the payload never arrives in full, nothing to answer.
  CHECK_FALSE(read_after("RKVPUBLISH1 10\nabc"));
  CHECK_FALSE(read_after("RKVPUBLI"));
  {
    INFO("a peer that sends nothing is given up at the deadline");
    SocketPair pair;
    std::string e;
    CHECK_FALSE(apps::read_catchup_port_request(pair.leader.get(), 100ms, e));
    CHECK(e == "timed out");
  }
  {
    INFO("an answer that is not one is an error, not a refusal");
    SocketPair pair;
    send_all(pair.leader.get(), "HELLO\n");
    std::string refusal;
    CHECK_FALSE(apps::exchange_publish(pair.member.get(), "x", 5s, refusal, error));
    CHECK(contains(error, "not an answer"));
  }
}

TEST_CASE("publish: every member of a fresh cluster lists every member's name and client URL",
          "[cluster][process]") {
  // Info: the followers' `published client addresses ... via the leader` lines.
  Cluster cluster(3, {"--log-level", "info"});
  auto leader = cluster.find_leader(20s);
  REQUIRE(leader);
  std::vector<uint64_t> ids;
  for (size_t i = 0; i < 3; ++i)
    ids.push_back(id_of(cluster, i));
  // No move-leader: the followers published through the leader.
  CHECK(eventually([&] { return everyone_listed(cluster, ids); }, 30s));
  size_t follower = (*leader + 1) % 3;
  auto published_via_leader = [&] {
    return contains(
        cluster.log(follower),
        "cluster: published client addresses client=" + cluster.member(follower).endpoint() +
            " grpc=" + cluster.member(follower).grpc_endpoint() + " via the leader ");
  };
  CHECK(eventually(published_via_leader));
  INFO("the follower's log: " << cluster.log(follower));

  // endpoint status --cluster on a follower covers all three (their MessagePack URLs).
  const std::string via = cluster.member(follower).endpoint();
  CHECK(eventually([&] {
    auto status = revkvctl(via, "endpoint status --cluster");
    if (status.status != 0) return false;
    for (size_t i = 0; i < 3; ++i)
      if (!contains(status.out, "http://" + cluster.member(i).endpoint() + ", ")) return false;
    return true;
  }));

  // etcdctl's member list (gRPC URLs) and endpoint status --cluster on every member.
  auto bin = testing::etcdctl_or_skip();
  if (!bin.empty()) {
    for (size_t asked = 0; asked < 3; ++asked) {
      auto list = testing::etcdctl(bin, cluster.member(asked).grpc_endpoint(), "member list");
      CAPTURE(list.out);
      CHECK(list.status == 0);
      for (size_t of = 0; of < 3; ++of)
        CHECK(contains(list.out, ", started, " + cluster.name(of) + ", " + cluster.peer_url(of) +
                                     ", http://" + cluster.member(of).grpc_endpoint() + ", false"));
    }
    auto status = testing::etcdctl(bin, cluster.member(follower).grpc_endpoint(),
                                   "endpoint status --cluster");
    CAPTURE(status.out);
    CHECK(status.status == 0);
    for (size_t i = 0; i < 3; ++i)
      CHECK(contains(status.out, cluster.member(i).grpc_endpoint()));
  }

  // A follower restarted on other client ports publishes its new addresses.
  cluster.stop(follower, 20s);
  cluster.move_client_ports(follower);
  cluster.start(follower);
  CHECK(eventually([&] { return everyone_listed(cluster, ids); }, 30s));
  CHECK(eventually(published_via_leader));
}

TEST_CASE("publish: the catch-up port refuses publishes it must not take", "[cluster][process]") {
  Cluster cluster(3);
  auto leader = cluster.find_leader(20s);
  REQUIRE(leader);
  const size_t follower = (*leader + 1) % 3;
  const uint64_t follower_id = id_of(cluster, follower);
  std::vector<uint64_t> ids;
  for (size_t i = 0; i < 3; ++i)
    ids.push_back(id_of(cluster, i));
  REQUIRE(eventually([&] { return everyone_listed(cluster, ids); }, 30s));
  const uint16_t at_leader = catchup_port(cluster, *leader);
  const uint16_t at_follower = catchup_port(cluster, follower);

  // The follower's attributes as it published them (to the leader's copy, it is the same).
  actors::MemberAttributes own;
  own.id = follower_id;
  own.name = cluster.name(follower);
  own.client = cluster.member(follower).endpoint();
  own.grpc = cluster.member(follower).grpc_endpoint();
  own.catchup = "127.0.0.1:" + std::to_string(at_follower);
  CHECK(exchange_raw(at_leader, publish_request(own)) == "OK\n");  // the log holds them

  // Elsewhere: another client address for it.
  actors::MemberAttributes moved = own;
  moved.client = "127.0.0.1:1";
  CHECK(exchange_raw(at_follower, publish_request(moved)) == "X etcdserver: not leader\n");
  actors::MemberAttributes stranger = moved;
  stranger.id = 0x1234;
  CHECK(exchange_raw(at_leader, publish_request(stranger)) == "X etcdserver: member not found\n");
  actors::MemberAttributes as_leader = moved;
  as_leader.id = ids[*leader];
  CHECK(exchange_raw(at_leader, publish_request(as_leader)) ==
        "X revkv: the leader publishes its own attributes\n");
  actors::MemberAttributes no_catchup = moved;
  no_catchup.catchup.clear();
  CHECK(exchange_raw(at_leader, publish_request(no_catchup)) ==
        "X revkv: malformed member attributes (catch-up address)\n");
  CHECK(exchange_raw(at_leader, "RKVPUBLISH1 5\nhello") ==
        "X revkv: malformed member attributes\n");
  // (The head only: bytes left unread when the port closes would reset the connection
  // before the answer is read.)
  CHECK(exchange_raw(at_leader, "RKVPUBLISH1 5000\n") ==
        "X revkv: publish request of 5000 bytes (1 to 4096 allowed)\n");
  CHECK(exchange_raw(at_leader, "GET / HTTP/1.0\n") == "X revkv: not a catch-up port request\n");
  // Cut short: closed without an answer.
  CHECK(exchange_raw(at_leader, "RKVPUBLISH1 100\nshort").empty());

  // Nothing changed: the same names and URLs everywhere, and the cluster writes on.
  CHECK(everyone_listed(cluster, ids));
  CHECK(client_urls(cluster, *leader, 0x1234).empty());
  CHECK(cluster.connect(follower).put(testing::put_of("after-refusals", "ok")).ok());
}

}  // namespace
}  // namespace revkv
