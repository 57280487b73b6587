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
//   - the answers waited for are those whose revision covers the write (Put, DeleteRange,
//     Txn, LeaseRevoke); a compaction's or a lease grant's is relayed at once.

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

struct FollowerFixture : testing::DoorSocketFixture {
  FollowerFixture() {
    join_cluster(2, 1).forwarder = sys.spawn(relaying_forwarder, leader);
    backend_answers->hold = true;
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

  std::shared_ptr<LeaderAnswers> leader = std::make_shared<LeaderAnswers>();
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
                 "a follower relays a forwarded compaction or lease grant without waiting",
                 "[actors][door][cluster]") {
  // Their answers name no change of this member's store (a compaction's names the leader's
  // W, not its own entry).
  leader->answer = actors::Response{storage::CompactResponse{30}};
  self->send(door, actors::bytes_atom::value,
             frame(1, protocol::Method::kv_compact, protocol::CompactionRequest{20, false}));
  sched.run();
  protocol::LeaseGrantResponse granted;
  granted.header.revision = 30;
  granted.id = 8;
  granted.ttl = 60;
  leader->answer = actors::Response{granted};
  protocol::LeaseGrantRequest grant;
  grant.ttl = 60;
  self->send(door, actors::bytes_atom::value, frame(2, protocol::Method::lease_grant, grant));
  sched.run();
  CHECK(responses().size() == 2);
  CHECK(backend_answers->waited.empty());
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

// Answers every put at revision 55, or refuses it when `refuse` is set.
caf::behavior put_shard(caf::event_based_actor*, std::shared_ptr<bool> refuse) {
  return {[refuse](const storage::PutRequest&) {
    if (*refuse) return storage::Result<storage::PutResponse>{storage::Errc::lease_not_found};
    return storage::Result<storage::PutResponse>{storage::PutResponse{55, std::nullopt}};
  }};
}

struct LeaderFixture : testing::DoorSocketFixture {
  LeaderFixture() {
    join_cluster(1, 60).announce_commit = [this] { ++announced; };
    shard = sys.spawn(put_shard, refuse);
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
}
