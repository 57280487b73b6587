// The forwarder (apps/revkvd/forwarder.hpp) of a follower whose connection to the leader
// breaks under its requests (docs/CLUSTER.md "Forwarding"): the leaders are in-process
// stand-ins that read the forwarded requests and answer or hang up as each case says. A read
// is sent again to the member that leads next; a write is answered with the failure (it may
// have been applied); a read that timed out, or finds no leader within the request timeout,
// is answered with the failure too.

#include "apps/revkvd/forwarder.hpp"

#include "actors/cluster_link.hpp"
#include "actors/forwarding.hpp"
#include "actors/messages.hpp"
#include "protocol/codec.hpp"
#include "protocol/method.hpp"
#include "tests/client/fake_server.hpp"

#include <caf/all.hpp>
#include <catch2/catch.hpp>

#include <chrono>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

using namespace revkv;
using namespace std::chrono_literals;
using test::FakeConnection;
using test::FakeServer;

namespace {

constexpr uint64_t kSelf = 1;
constexpr uint64_t kLeaderA = 2;
constexpr uint64_t kLeaderB = 3;
constexpr auto kPatience = std::chrono::seconds(30);  // a deadline, never reached when it works

actors::ForwardCall range_of(std::string key) {
  storage::RangeRequest range;
  range.key = std::move(key);
  return {range, std::nullopt};
}

actors::ForwardCall put_of(std::string key) {
  storage::PutRequest put;
  put.key = std::move(key);
  put.value.assign(1, 'v');
  return {put, std::nullopt};
}

// What the stand-in leaders were sent, as "member method key", in order: written on their
// threads, checked on the test's once they are gone (Catch2 checks only on the test's thread).
class SeenLog {
 public:
  // Reads one forwarded request and logs it.
  protocol::RequestFrame read(FakeConnection& conn, const std::string& who) {
    auto req = conn.read_request();
    std::string key = "?";
    if (req.method == protocol::method_name(protocol::Method::kv_range)) {
      auto range = protocol::decode_body<storage::RangeRequest>(req.body);
      if (range.ok()) key = range.value().key;
    } else if (req.method == protocol::method_name(protocol::Method::kv_put)) {
      auto put = protocol::decode_body<storage::PutRequest>(req.body);
      if (put.ok()) key = put.value().key;
    }
    std::lock_guard lock(mutex_);
    seen_.push_back(who + " " + req.method + " " + key);
    return req;
  }
  void note(const std::string& what) {
    std::lock_guard lock(mutex_);
    seen_.push_back(what);
  }
  std::vector<std::string> seen() const {
    std::lock_guard lock(mutex_);
    return seen_;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<std::string> seen_;
};

// Answers a Range as the leader at `revision`.
void answer_range(FakeConnection& conn, uint32_t msgid, int64_t revision) {
  protocol::ResponseHeader header{7, kLeaderB, 0, 2};  // the revision is the response's
  storage::RangeResponse range;
  range.revision = revision;
  conn.send(test::result_frame(msgid, protocol::encode_kv_to_string(header, range)));
}

struct ForwarderFixture {
  explicit ForwarderFixture(std::chrono::milliseconds request_timeout = 5000ms) {
    link->member_id = kSelf;
    apps::ForwarderOptions options;
    options.connections = 1;
    options.request_timeout = request_timeout;
    forwarders = apps::spawn_forwarder(sys, link, options);
  }
  ~ForwarderFixture() { stop(); }

  // Ends the forwarder's workers and waits until they are gone, with their connections.
  void stop() {
    if (!forwarders.pool) return;
    std::vector<caf::actor> all{forwarders.pool, forwarders.auth, forwarders.cluster};
    for (auto& w : all)
      self->monitor(w);
    caf::anon_send_exit(forwarders.pool, caf::exit_reason::user_shutdown);
    for (size_t i = 0; i < all.size(); ++i)
      self->receive([](caf::down_msg&) {});
    forwarders = {};
  }

  void lead(uint64_t id, const FakeServer& server) {
    link->set_attributes(
        actors::MemberAttributes{id, "m" + std::to_string(id), server.endpoint(), "", false, ""});
    link->leader_id.store(id);
  }
  // Sends `call` to the pool, which hands it to its one worker.
  void forward(actors::ForwardCall call) {
    self->send(forwarders.pool, actors::forward_atom::value, std::move(call));
  }
  // Sends `call` to the worker that takes the compactions, addressed directly: what the test
  // sends while that worker waits for the leader is in its mailbox before it is free, and
  // goes out as one batch. (Its wait for an answer is the longer one of Cluster.* calls.)
  void forward_direct(actors::ForwardCall call) {
    self->send(forwarders.cluster, actors::forward_atom::value, std::move(call));
  }
  actors::Answer next_answer() {
    actors::Answer out = protocol::WireError{0, "no answer within the test's patience"};
    self->receive([&](actors::Answer& a) { out = std::move(a); },
                  caf::after(kPatience) >> [] { FAIL("the forwarder gave no answer"); });
    return out;
  }

  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  std::shared_ptr<actors::ClusterLink> link = std::make_shared<actors::ClusterLink>();
  apps::Forwarders forwarders;
};

int64_t range_revision(const actors::Answer& a) {
  REQUIRE(std::holds_alternative<actors::Response>(a));
  const auto& response = std::get<actors::Response>(a);
  REQUIRE(std::holds_alternative<storage::RangeResponse>(response));
  return std::get<storage::RangeResponse>(response).revision;
}

protocol::WireError error_of(const actors::Answer& a) {
  REQUIRE(std::holds_alternative<protocol::WireError>(a));
  return std::get<protocol::WireError>(a);
}

}  // namespace

TEST_CASE("forwarder: a read whose leader hangs up is sent to the next leader, a write is not",
          "[forwarding]") {
  ForwarderFixture f;
  SeenLog log;
  std::promise<void> first_read, batch_queued;
  auto queued = batch_queued.get_future();
  std::optional<FakeServer> b(std::in_place, [&](FakeConnection& conn) {
    auto r1 = log.read(conn, "B");
    answer_range(conn, r1.msgid, 42);
    log.read(conn, "B");  // throws when the forwarder goes: nothing else was sent
  });
  std::optional<FakeServer> a(std::in_place, [&](FakeConnection& conn) {
    auto r0 = log.read(conn, "A");
    first_read.set_value();
    queued.wait();
    answer_range(conn, r0.msgid, 41);
    // The put and the second read, sent together; then B leads and A goes away unanswering.
    log.read(conn, "A");
    log.read(conn, "A");
    f.lead(kLeaderB, *b);
    conn.close();
  });
  f.lead(kLeaderA, *a);
  f.forward_direct(range_of("r0"));
  first_read.get_future().wait();
  f.forward_direct(put_of("p"));
  f.forward_direct(range_of("r1"));
  batch_queued.set_value();

  CHECK(range_revision(f.next_answer()) == 41);
  auto put = error_of(f.next_answer());  // answered when A hangs up, before r1 is sent again
  CHECK(put.code == 14);
  CHECK(put.message.rfind("revkv: lost the connection to the leader m2: ", 0) == 0);
  CHECK(range_revision(f.next_answer()) == 42);
  CHECK(f.link->forward_failures.load() == 1);  // the put
  CHECK(f.link->forwarded.load() == 4);         // r0, the put, r1 twice
  f.stop();
  a.reset();
  b.reset();
  CHECK(log.seen() ==
        std::vector<std::string>{"A KV.Range r0", "A KV.Put p", "A KV.Range r1", "B KV.Range r1"});
}

TEST_CASE("forwarder: a read that finds no leader within the request timeout gets the failure",
          "[forwarding]") {
  ForwarderFixture f(1000ms);
  SeenLog log;
  FakeServer a([&](FakeConnection& conn) {
    log.read(conn, "A");
    f.link->leader_id.store(0);  // A goes away and no member leads yet
    conn.close();
  });
  f.lead(kLeaderA, a);
  f.forward(range_of("r"));
  auto failed = error_of(f.next_answer());
  CHECK(failed.code == 14);
  CHECK(failed.message.rfind("revkv: lost the connection to the leader m2: ", 0) == 0);
  CHECK(f.link->forward_failures.load() == 1);
}

TEST_CASE("forwarder: a read whose leader went away with no successor yet goes to the next one",
          "[forwarding]") {
  ForwarderFixture f;
  SeenLog log;
  std::promise<void> gone;
  std::optional<FakeServer> b(std::in_place, [&](FakeConnection& conn) {
    // The first leader after the election is not sure of it yet: it refuses, and the read
    // goes to it again.
    auto first = log.read(conn, "B");
    conn.send(test::error_frame(first.msgid, 14, "etcdserver: not leader"));
    auto again = log.read(conn, "B");
    answer_range(conn, again.msgid, 42);
    log.read(conn, "B");  // throws when the forwarder goes
  });
  std::optional<FakeServer> a(std::in_place, [&](FakeConnection& conn) {
    log.read(conn, "A");
    f.link->leader_id.store(0);
    conn.close();
    gone.set_value();
  });
  f.lead(kLeaderA, *a);
  f.forward(range_of("r"));
  gone.get_future().wait();
  f.lead(kLeaderB, *b);  // elected
  CHECK(range_revision(f.next_answer()) == 42);
  CHECK(f.link->forward_failures.load() == 0);
  f.stop();
  a.reset();
  b.reset();
  CHECK(log.seen() == std::vector<std::string>{"A KV.Range r", "B KV.Range r", "B KV.Range r"});
}

TEST_CASE("forwarder: a read whose member now leads itself is answered leader changed",
          "[forwarding]") {
  ForwarderFixture f;
  SeenLog log;
  std::promise<void> sent, elected;
  auto leading = elected.get_future();
  FakeServer a([&](FakeConnection& conn) {
    log.read(conn, "A");
    sent.set_value();
    leading.wait();
    conn.close();
  });
  f.lead(kLeaderA, a);
  f.forward(range_of("r"));
  sent.get_future().wait();
  f.link->leader_id.store(kSelf);  // the client asks again and this member serves it
  elected.set_value();
  auto failed = error_of(f.next_answer());
  CHECK(failed.code == 14);
  CHECK(failed.message == "etcdserver: leader changed");
}

TEST_CASE("forwarder: a read the leader did not answer within the request timeout is not resent",
          "[forwarding]") {
  ForwarderFixture f(300ms);
  SeenLog log;
  std::promise<void> sent, done;
  auto finished = done.get_future();
  std::optional<FakeServer> a(std::in_place, [&](FakeConnection& conn) {
    log.read(conn, "A");
    sent.set_value();
    finished.wait();  // answers nothing
  });
  std::optional<FakeServer> b(std::in_place, [&](FakeConnection&) { log.note("B connected"); });
  f.lead(kLeaderA, *a);
  f.forward(range_of("r"));
  sent.get_future().wait();
  f.lead(kLeaderB, *b);
  auto failed = error_of(f.next_answer());
  CHECK(failed.code == 14);
  CHECK(failed.message == "etcdserver: request timed out");
  CHECK(f.link->forward_failures.load() == 1);
  done.set_value();
  f.stop();
  a.reset();
  b.reset();  // closes B's listener: its script ran only if the forwarder connected
  CHECK(log.seen() == std::vector<std::string>{"A KV.Range r"});
}
