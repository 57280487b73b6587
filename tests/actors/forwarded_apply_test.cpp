// A write a follower forwards (docs/CLUSTER.md "Forwarding"), on CAF's deterministic test
// coordinator, from both ends:
//   - the follower answers it once its own W reached the revision of the leader's answer
//     (etcd's member answers a proposal once it applied it), so a serializable read on it
//     right after sees the write; a member that lags answers it when
//     ClusterLink::forwarded_apply_wait runs out; an error, or an answer its W already
//     covers, leaves at once;
//   - the leader, once it answered a write another member forwarded, announces the commit
//     (ClusterLink::announce_commit: a barrier whose append carries the commit index to the
//     followers), and only then: not for its own clients' writes, nor for a refusal;
//   - what is waited for is what the change is (actors/applied_here.hpp): W for Put,
//     DeleteRange, Txn, LeaseRevoke and a linearizable Range, the member's own compaction
//     for a Compact, its copy of the alarm for an alarm change; a lease grant, and any
//     error but a linearizable read's `compacted` (which waits for the member's own
//     compaction past the read's revision), is relayed at once.

#include "actors/cluster_link.hpp"
#include "actors/forwarding.hpp"
#include "actors/messages.hpp"
#include "actors/node_context.hpp"
#include "protocol/codec.hpp"
#include "protocol/frame.hpp"
#include "protocol/method.hpp"
#include "tests/actors/door_socket_fixture.hpp"

#include <memory>
#include <optional>
#include <string>
#include <vector>

using namespace revkv;

namespace {

// The leader's answer to every forwarded write, as the forwarder relays it.
struct LeaderAnswers {
  actors::Answer answer = actors::Response{storage::PutResponse{7, std::nullopt}};
  int sent = 0;
};

caf::behavior relaying_forwarder(caf::event_based_actor*, std::shared_ptr<LeaderAnswers> leader) {
  return {[leader](actors::forward_atom, actors::ForwardCall&) -> actors::Answer {
    ++leader->sent;
    return leader->answer;
  }};
}

template <class Request>
std::vector<char> frame(uint32_t msgid, protocol::Method method, const Request& request,
                        bool forwarded = false) {
  msgpack::sbuffer buf;
  protocol::write_request(buf, msgid, protocol::method_name(method),
                          protocol::encode_to_string(request), std::nullopt, forwarded);
  return {buf.data(), buf.data() + buf.size()};
}

std::vector<char> put_frame(uint32_t msgid, bool forwarded) {
  storage::PutRequest put;
  put.key.assign(1, 'k');  // not a string literal: GCC 12's false -Wrestrict under Bazel
  put.value.assign(1, 'v');
  return frame(msgid, protocol::Method::kv_put, put, forwarded);
}

storage::DeleteRangeRequest delete_k() {
  storage::DeleteRangeRequest d;
  d.key.assign(1, 'k');
  return d;
}

// The maintenance actor as a follower's door asks it (applied_here_atom): each ask held
// until the test answers it.
struct AppliedHereAsks {
  struct Compaction {
    int64_t revision = 0;
    bool physical = false;
    caf::timespan patience{};
    friend bool operator==(const Compaction&, const Compaction&) = default;
  };
  std::vector<Compaction> compactions;
  std::vector<bool> alarms;  // the alarm state waited for
  std::vector<caf::response_promise> held;
};

caf::behavior maintenance_stub(caf::event_based_actor* self,
                               std::shared_ptr<AppliedHereAsks> asks) {
  return {
      [self, asks](actors::applied_here_atom, int64_t revision, bool physical,
                   caf::timespan patience) -> caf::result<bool> {
        asks->compactions.push_back({revision, physical, patience});
        asks->held.push_back(self->make_response_promise());
        return asks->held.back();
      },
      [self, asks](actors::applied_here_atom, bool raised, caf::timespan) -> caf::result<bool> {
        asks->alarms.push_back(raised);
        asks->held.push_back(self->make_response_promise());
        return asks->held.back();
      },
      [asks](actors::flush_atom) {
        for (auto& rp : std::exchange(asks->held, {}))
          rp.deliver(true);
      },
  };
}

struct FollowerFixture : testing::DoorSocketFixture {
  FollowerFixture() {
    join_cluster(2, 1).forwarder = sys.spawn(relaying_forwarder, leader);
    backend_answers->hold = true;
    maintenance = sys.spawn(maintenance_stub, maintenance_asks);
    start_door();
  }
  ~FollowerFixture() {
    caf::anon_send_exit(ctx->cluster->forwarder, caf::exit_reason::user_shutdown);
  }

  // This member's backend applied the leader's entries up to `revision`.
  void apply_up_to(int64_t revision) {
    ctx->watermark.store(revision);
    self->send(backend, actors::flush_atom::value);
    sched.run();
  }

  // A client's Compact through this member, forwarded (the leader answers leader->answer).
  void compact_through_door(uint32_t msgid, int64_t revision, bool physical) {
    self->send(door, actors::bytes_atom::value,
               frame(msgid, protocol::Method::kv_compact,
                     protocol::CompactionRequest{revision, physical}));
    sched.run();
  }

  // This member's maintenance actor reports every change it was asked about as applied.
  void answer_maintenance() {
    self->send(maintenance, actors::flush_atom::value);
    sched.run();
  }

  std::shared_ptr<LeaderAnswers> leader = std::make_shared<LeaderAnswers>();
  std::shared_ptr<AppliedHereAsks> maintenance_asks = std::make_shared<AppliedHereAsks>();
};

}  // namespace

TEST_CASE_METHOD(FollowerFixture,
                 "a follower answers a forwarded write once it applied the leader's revision",
                 "[actors][door][cluster]") {
  self->send(door, actors::bytes_atom::value, put_frame(1, false));
  sched.run();
  CHECK(leader->sent == 1);
  CHECK(backend_answers->waited == std::vector<int64_t>{7});
  CHECK(responses().empty());
  apply_up_to(7);
  auto out = responses();
  REQUIRE(out.size() == 1);
  CHECK_FALSE(out[0].error);
  CHECK(out[0].msgid == 1);
  CHECK(ctx->cluster->forwarded_apply_timeouts.load() == 0);
}

TEST_CASE_METHOD(FollowerFixture,
                 "a follower that lags answers a forwarded write when its wait runs out",
                 "[actors][door][cluster]") {
  self->send(door, actors::bytes_atom::value, put_frame(1, false));
  sched.run();
  CHECK(responses().empty());
  // The backend never gets there (cut off from the log): the request's timeout fires.
  CHECK(sched.trigger_timeouts() == 1);
  sched.run();
  auto out = responses();
  REQUIRE(out.size() == 1);
  CHECK_FALSE(out[0].error);
  CHECK(ctx->cluster->forwarded_apply_timeouts.load() == 1);  // revkv_cluster_..._total
  // Getting there later answers nothing twice.
  apply_up_to(7);
  CHECK(responses().empty());
}

TEST_CASE_METHOD(
    FollowerFixture,
    "a follower waits for the revision a forwarded DeleteRange, Txn or LeaseRevoke names",
    "[actors][door][cluster]") {
  // Each is relayed once this member applied the revision its answer names (one after the
  // other: a connection's forwarded write runs alone).
  auto relayed_at = [this](std::vector<char> request, int64_t revision) {
    self->send(door, actors::bytes_atom::value, std::move(request));
    sched.run();
    CHECK(responses().empty());
    CHECK(backend_answers->waited.back() == revision);
    apply_up_to(revision);
    auto out = responses();
    REQUIRE(out.size() == 1);
    CHECK_FALSE(out[0].error);
  };
  // A DeleteRange that deleted nothing names the leader's revision as it answered.
  leader->answer = actors::Response{storage::DeleteRangeResponse{5, 0, {}}};
  relayed_at(frame(1, protocol::Method::kv_delete_range, delete_k()), 5);
  storage::TxnRequest txn;
  txn.success.push_back(storage::RequestOp{storage::PutRequest{}});
  leader->answer = actors::Response{storage::TxnResponse{9, true, {}}};
  relayed_at(frame(2, protocol::Method::kv_txn, txn), 9);
  protocol::LeaseRevokeResponse revoked;
  revoked.header.revision = 12;
  leader->answer = actors::Response{revoked};
  relayed_at(frame(3, protocol::Method::lease_revoke, protocol::LeaseRevokeRequest{4}), 12);
  CHECK(backend_answers->waited == std::vector<int64_t>{5, 9, 12});
}

TEST_CASE_METHOD(FollowerFixture,
                 "a follower answers a forwarded linearizable read once it applied its revision",
                 "[actors][door][cluster]") {
  // As etcd's follower answers one once it applied up to the leader's read index: a
  // serializable read here next sees at least as much.
  storage::RangeResponse read;
  read.revision = 9;
  leader->answer = actors::Response{read};
  storage::RangeRequest range;
  range.key.assign(1, 'k');
  self->send(door, actors::bytes_atom::value, frame(1, protocol::Method::kv_range, range));
  sched.run();
  CHECK(leader->sent == 1);
  CHECK(responses().empty());
  CHECK(backend_answers->waited == std::vector<int64_t>{9});
  apply_up_to(9);
  auto out = responses();
  REQUIRE(out.size() == 1);
  CHECK_FALSE(out[0].error);
  // One this member covers already leaves at once.
  self->send(door, actors::bytes_atom::value, frame(2, protocol::Method::kv_range, range));
  sched.run();
  CHECK(responses().size() == 1);
  CHECK(backend_answers->waited.size() == 1);
}

TEST_CASE_METHOD(FollowerFixture,
                 "a follower answers a read the leader refused as compacted once its own "
                 "compaction passed it",
                 "[actors][door][cluster]") {
  // The leader compacted past revision 5; once this member's compaction has too (at 6 or
  // later), a serializable read of revision 5 here is refused as well. The forwarder relays
  // the leader's error as it came on the wire.
  leader->answer = protocol::to_wire_error(storage::Errc::compacted);
  storage::RangeRequest at5;
  at5.key.assign(1, 'k');
  at5.revision = 5;
  self->send(door, actors::bytes_atom::value, frame(1, protocol::Method::kv_range, at5));
  sched.run();
  CHECK(responses().empty());
  REQUIRE(maintenance_asks->compactions.size() == 1);
  CHECK(maintenance_asks->compactions[0] ==
        AppliedHereAsks::Compaction{6, false, ctx->cluster->forwarded_apply_wait});
  answer_maintenance();
  auto out = responses();
  REQUIRE(out.size() == 1);
  REQUIRE(out[0].error);
  CHECK(out[0].error->message == "etcdserver: mvcc: required revision has been compacted");
  // A member whose compaction passed it already relays the refusal at once, and so does one
  // that lags, when its wait runs out.
  ctx->compact_revision.store(6);
  self->send(door, actors::bytes_atom::value, frame(2, protocol::Method::kv_range, at5));
  sched.run();
  CHECK(responses().size() == 1);
  at5.revision = 6;
  leader->answer = storage::Error{storage::Errc::compacted};  // as this member's own door has it
  self->send(door, actors::bytes_atom::value, frame(3, protocol::Method::kv_range, at5));
  sched.run();
  CHECK(responses().empty());
  CHECK(maintenance_asks->compactions.size() == 2);
  // (The first ask's timeout, answered already, fires too and changes nothing.)
  CHECK(sched.trigger_timeouts() == 2);
  sched.run();
  CHECK(responses().size() == 1);
  CHECK(ctx->cluster->forwarded_apply_timeouts.load() == 1);
  // Any other refusal of a read is relayed at once.
  leader->answer = storage::Error{storage::Errc::future_revision};
  self->send(door, actors::bytes_atom::value, frame(4, protocol::Method::kv_range, at5));
  sched.run();
  CHECK(responses().size() == 1);
  CHECK(maintenance_asks->compactions.size() == 2);
  CHECK(backend_answers->waited.empty());
}

TEST_CASE("a leader announces a forwarded read's revision once", "[actors][cluster]") {
  // A read changes nothing: the followers need to hear of the commit of what it saw only
  // if no announcement at that revision or a later one was asked for already.
  actors::ClusterLink link;
  int announced = 0;
  link.announce_commit = [&] { ++announced; };
  link.announce_commit_of(5);
  CHECK(announced == 1);
  link.announce_commit_of(5);
  link.announce_commit_of(4);
  CHECK(announced == 1);
  link.announce_commit_of(6);
  CHECK(announced == 2);
}

TEST_CASE_METHOD(FollowerFixture,
                 "a follower answers a forwarded compaction once its own reached the revision",
                 "[actors][door][cluster]") {
  // The answer names the leader's W, not the compaction: this member's maintenance actor is
  // asked, and the answer leaves once it says so.
  leader->answer = actors::Response{storage::CompactResponse{30}};
  compact_through_door(1, 20, false);
  CHECK(responses().empty());
  CHECK(backend_answers->waited.empty());
  REQUIRE(maintenance_asks->compactions.size() == 1);
  CHECK(maintenance_asks->compactions[0] ==
        AppliedHereAsks::Compaction{20, false, ctx->cluster->forwarded_apply_wait});
  answer_maintenance();
  auto out = responses();
  REQUIRE(out.size() == 1);
  CHECK_FALSE(out[0].error);
  // A physical one waits for this member's physical job, as long as the leader's may take.
  compact_through_door(2, 25, true);
  REQUIRE(maintenance_asks->compactions.size() == 2);
  CHECK(maintenance_asks->compactions[1] ==
        AppliedHereAsks::Compaction{25, true, ctx->cluster->forwarded_physical_compaction_wait});
  CHECK(responses().empty());
  answer_maintenance();
  CHECK(responses().size() == 1);
}

TEST_CASE_METHOD(FollowerFixture,
                 "a follower answers a forwarded alarm change once its copy shows it",
                 "[actors][door][cluster]") {
  protocol::AlarmResponse cleared;
  cleared.header.revision = 7;
  leader->answer = actors::Response{cleared};
  protocol::AlarmRequest disarm;
  disarm.action = protocol::AlarmAction::deactivate;
  disarm.alarm = protocol::AlarmType::nospace;
  self->send(door, actors::bytes_atom::value,
             frame(1, protocol::Method::maintenance_alarm, disarm));
  sched.run();
  CHECK(responses().empty());
  protocol::AlarmRequest raise = disarm;
  raise.action = protocol::AlarmAction::activate;
  answer_maintenance();
  CHECK(responses().size() == 1);
  self->send(door, actors::bytes_atom::value, frame(2, protocol::Method::maintenance_alarm, raise));
  sched.run();
  CHECK(responses().empty());
  answer_maintenance();
  CHECK(responses().size() == 1);
  CHECK(maintenance_asks->alarms == std::vector<bool>{false, true});
}

TEST_CASE_METHOD(
    FollowerFixture,
    "a follower whose compaction lags answers the forwarded one when its wait runs out",
    "[actors][door][cluster]") {
  leader->answer = actors::Response{storage::CompactResponse{30}};
  compact_through_door(1, 20, false);
  CHECK(responses().empty());
  CHECK(sched.trigger_timeouts() == 1);
  sched.run();
  CHECK(responses().size() == 1);
  CHECK(ctx->cluster->forwarded_apply_timeouts.load() == 1);
  answer_maintenance();  // late: nothing is answered twice
  CHECK(responses().empty());
}

TEST_CASE_METHOD(FollowerFixture,
                 "a follower relays a forwarded lease grant, or a refused compaction, at once",
                 "[actors][door][cluster]") {
  // A grant changes nothing a follower serves itself (LeaseTimeToLive and LeaseLeases are
  // forwarded too).
  protocol::LeaseGrantResponse granted;
  granted.header.revision = 30;
  granted.id = 8;
  granted.ttl = 60;
  leader->answer = actors::Response{granted};
  protocol::LeaseGrantRequest grant;
  grant.ttl = 60;
  self->send(door, actors::bytes_atom::value, frame(1, protocol::Method::lease_grant, grant));
  sched.run();
  CHECK(responses().size() == 1);
  leader->answer = storage::Error{storage::Errc::compacted};
  compact_through_door(2, 20, false);
  CHECK(responses().size() == 1);
  CHECK(backend_answers->waited.empty());
  CHECK(maintenance_asks->compactions.empty());
  CHECK(maintenance_asks->alarms.empty());
}

TEST_CASE_METHOD(FollowerFixture,
                 "a follower relays at once an error, or an answer its W already covers",
                 "[actors][door][cluster]") {
  ctx->watermark.store(7);
  self->send(door, actors::bytes_atom::value, put_frame(1, false));
  sched.run();
  auto covered = responses();
  REQUIRE(covered.size() == 1);
  CHECK_FALSE(covered[0].error);
  leader->answer = storage::Error{storage::Errc::lease_not_found};
  self->send(door, actors::bytes_atom::value, put_frame(2, false));
  sched.run();
  auto refused = responses();
  REQUIRE(refused.size() == 1);
  REQUIRE(refused[0].error);
  CHECK(refused[0].error->message == "etcdserver: requested lease not found");
  CHECK(backend_answers->waited.empty());
  CHECK(leader->sent == 2);
}

namespace {

// Answers every put at revision 55, or refuses it when `refuse` is set; finds no key for a
// range, or refuses it as compacted when `compacted` is set (a shard whose index was
// compacted past the read's revision).
caf::behavior put_shard(caf::event_based_actor*, std::shared_ptr<bool> refuse,
                        std::shared_ptr<bool> compacted) {
  return {
      [refuse](const storage::PutRequest&) {
        if (*refuse) return storage::Result<storage::PutResponse>{storage::Errc::lease_not_found};
        return storage::Result<storage::PutResponse>{storage::PutResponse{55, std::nullopt}};
      },
      [](const storage::TxnRequest&) {
        return storage::Result<storage::TxnResponse>{storage::TxnResponse{60, true, {}}};
      },
      [compacted](actors::range_atom, const storage::RangeRequest&, int64_t) {
        if (*compacted) return storage::Result<storage::RangeFetch>{storage::Errc::compacted};
        return storage::Result<storage::RangeFetch>{storage::RangeFetch{}};
      },
  };
}

// Answers every compaction and alarm change as done.
caf::behavior answering_maintenance(caf::event_based_actor*) {
  return {
      [](const protocol::CompactionRequest&) {
        return storage::Result<storage::CompactResponse>{storage::CompactResponse{60}};
      },
      [](const protocol::AlarmRequest&) {
        return storage::Result<protocol::AlarmResponse>{protocol::AlarmResponse{}};
      },
  };
}

struct LeaderFixture : testing::DoorSocketFixture {
  LeaderFixture() {
    join_cluster(1, 60).announce_commit = [this] { ++announced; };
    maintenance = sys.spawn(answering_maintenance);
    shard = sys.spawn(put_shard, refuse, compacted);
    start_door(shard);
  }
  ~LeaderFixture() { caf::anon_send_exit(shard, caf::exit_reason::user_shutdown); }

  std::vector<client::Response> answers_to(std::vector<char> bytes) {
    self->send(door, actors::bytes_atom::value, std::move(bytes));
    sched.run();
    return responses();
  }

  int announced = 0;
  std::shared_ptr<bool> refuse = std::make_shared<bool>(false);
  std::shared_ptr<bool> compacted = std::make_shared<bool>(false);
  caf::actor shard;
};

}  // namespace

TEST_CASE_METHOD(LeaderFixture, "a leader announces the commit of a write another member forwarded",
                 "[actors][door][cluster]") {
  auto own = answers_to(put_frame(1, false));
  REQUIRE(own.size() == 1);
  CHECK_FALSE(own[0].error);
  CHECK(announced == 0);
  auto forwarded = answers_to(put_frame(2, true));
  REQUIRE(forwarded.size() == 1);
  CHECK_FALSE(forwarded[0].error);
  CHECK(announced == 1);
  // A refusal committed nothing to announce.
  *refuse = true;
  auto refused = answers_to(put_frame(3, true));
  REQUIRE(refused.size() == 1);
  CHECK(refused[0].error);
  CHECK(announced == 1);
  // A forwarded compaction and alarm change are announced too: their follower waits for
  // them to apply. An alarm request that changes nothing is not.
  CHECK(answers_to(
            frame(4, protocol::Method::kv_compact, protocol::CompactionRequest{50, false}, true))
            .size() == 1);
  CHECK(announced == 2);
  protocol::AlarmRequest disarm;
  disarm.action = protocol::AlarmAction::deactivate;
  disarm.alarm = protocol::AlarmType::nospace;
  CHECK(answers_to(frame(5, protocol::Method::maintenance_alarm, disarm, true)).size() == 1);
  CHECK(announced == 3);
  protocol::AlarmRequest list;
  list.action = protocol::AlarmAction::get;
  CHECK(answers_to(frame(6, protocol::Method::maintenance_alarm, list, true)).size() == 1);
  CHECK(announced == 3);
}

TEST_CASE_METHOD(LeaderFixture, "a leader announces a forwarded linearizable read's revision once",
                 "[actors][door][cluster]") {
  // The follower that forwarded it waits until it applied the read's revision (W, 60 here):
  // told once per revision; its own clients' reads, serializable or not, tell nobody.
  storage::RangeRequest linearizable;
  linearizable.key.assign(1, 'k');
  storage::RangeRequest serializable = linearizable;
  serializable.serializable = true;
  CHECK(answers_to(frame(1, protocol::Method::kv_range, linearizable, false)).size() == 1);
  CHECK(answers_to(frame(2, protocol::Method::kv_range, serializable, false)).size() == 1);
  CHECK(announced == 0);
  auto forwarded = answers_to(frame(3, protocol::Method::kv_range, linearizable, true));
  REQUIRE(forwarded.size() == 1);
  CHECK_FALSE(forwarded[0].error);
  CHECK(announced == 1);
  CHECK(answers_to(frame(4, protocol::Method::kv_range, linearizable, true)).size() == 1);
  CHECK(announced == 1);
  // A read-only Txn (it takes no revision) is announced the same way.
  storage::TxnRequest txn;
  auto read_only = answers_to(frame(5, protocol::Method::kv_txn, txn, true));
  REQUIRE(read_only.size() == 1);
  CHECK_FALSE(read_only[0].error);
  CHECK(announced == 1);
  // Once W moved, the next forwarded read is announced again.
  ctx->watermark.store(61);
  ctx->last_revision.store(61);
  CHECK(answers_to(frame(6, protocol::Method::kv_range, linearizable, true)).size() == 1);
  CHECK(announced == 2);
}

TEST_CASE_METHOD(LeaderFixture,
                 "a leader announces forwarded reads it refused as compacted once per compaction",
                 "[actors][door][cluster]") {
  // The follower waits for the compaction, whose entry may come after every revision
  // announced: announced once per compaction. Its own clients' refusals tell nobody.
  ctx->compact_revision.store(10);
  storage::RangeRequest at5;
  at5.key.assign(1, 'k');
  at5.revision = 5;
  auto own = answers_to(frame(1, protocol::Method::kv_range, at5, false));
  REQUIRE(own.size() == 1);
  REQUIRE(own[0].error);
  CHECK(announced == 0);
  for (uint32_t msgid = 2; msgid <= 3; ++msgid) {
    auto forwarded = answers_to(frame(msgid, protocol::Method::kv_range, at5, true));
    REQUIRE(forwarded.size() == 1);
    REQUIRE(forwarded[0].error);
    CHECK(forwarded[0].error->message == "etcdserver: mvcc: required revision has been compacted");
  }
  CHECK(announced == 1);
  // A later compaction is announced again; here the shard refuses the read (its index was
  // compacted past it as the store's compact revision moved to 11), after the request path's
  // own check let it through.
  ctx->compact_revision.store(11);
  *compacted = true;
  storage::RangeRequest at12 = at5;
  at12.revision = 12;
  auto by_shard = answers_to(frame(4, protocol::Method::kv_range, at12, true));
  REQUIRE(by_shard.size() == 1);
  REQUIRE(by_shard[0].error);
  CHECK(announced == 2);
  CHECK(answers_to(frame(5, protocol::Method::kv_range, at12, true)).size() == 1);
  CHECK(announced == 2);
  // A refused future revision committed nothing new to see.
  *compacted = false;
  at5.revision = 70;
  CHECK(answers_to(frame(6, protocol::Method::kv_range, at5, true)).size() == 1);
  CHECK(announced == 2);
}
