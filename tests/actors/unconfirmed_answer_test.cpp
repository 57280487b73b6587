// A cluster leader's answers that proposed nothing (docs/CLUSTER.md "Linearizable reads"): a
// Txn whose compare chose a branch without writes, or a DeleteRange that deleted nothing, took
// no revision, so no commit confirms that this member still led when its store answered. On
// CAF's deterministic test coordinator, a MessagePack door of a member that believes it leads,
// whose one shard answers with responses the test sets and whose read-index actor answers as
// the test says:
//   - outside the read lease, such an answer waits for a leadership confirmation, and a failed
//     one turns it into Unavailable `etcdserver: leader changed` (a deposed leader resumed
//     after a freeze must not answer a CAS from its stale store);
//   - a write that took a revision needs none (its commit confirmed it); within the lease none
//     is asked either;
//   - a write answered with an error from the store (a lease not found) is confirmed the same;
//   - a Txn of serializable Ranges only is a serializable read (etcd's isTxnSerializable):
//     answered from the store without a confirmation, by a follower too;
//   - a confirmation, by barrier or by lease, of a later leadership of this member than the
//     one the answer was computed under does not count: deposed and elected again meanwhile,
//     its store may have missed what another leader acknowledged in between.

#include "actors/cluster_link.hpp"
#include "actors/messages.hpp"
#include "actors/node_context.hpp"
#include "protocol/codec.hpp"
#include "protocol/frame.hpp"
#include "protocol/method.hpp"
#include "tests/actors/door_socket_fixture.hpp"

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

using namespace revkv;

namespace {

// What the one shard answers to each write.
struct ShardAnswers {
  storage::TxnResponse txn;
  storage::DeleteRangeResponse del;
  storage::PutResponse put;
  std::function<void()> before_txn_answer;  // what happens while the shard computes
};

caf::behavior answering_shard(caf::event_based_actor*, std::shared_ptr<ShardAnswers> answers) {
  return {
      [answers](const storage::TxnRequest&) {
        if (answers->before_txn_answer) answers->before_txn_answer();
        return storage::Result<storage::TxnResponse>{answers->txn};
      },
      [answers](const storage::DeleteRangeRequest&) {
        return storage::Result<storage::DeleteRangeResponse>{answers->del};
      },
      [answers](const storage::PutRequest&) {
        return storage::Result<storage::PutResponse>{answers->put};
      },
  };
}

struct Confirmations {
  int asked = 0;
  bool confirm = false;
  std::function<void()> during_barrier;  // what happens while a barrier runs
};

caf::behavior read_index(caf::event_based_actor*, std::shared_ptr<Confirmations> c) {
  return {[c](actors::read_index_atom) {
    ++c->asked;
    if (c->during_barrier) c->during_barrier();
    return c->confirm;
  }};
}

template <class Request>
std::vector<char> frame(uint32_t msgid, protocol::Method method, const Request& request) {
  msgpack::sbuffer buf;
  protocol::write_request(buf, msgid, protocol::method_name(method),
                          protocol::encode_to_string(request), std::nullopt, false);
  return {buf.data(), buf.data() + buf.size()};
}

storage::TxnRequest cas() {
  storage::TxnRequest t;
  storage::Compare c;
  c.key.assign(1, 'k');  // not a string literal: GCC 12's false -Wrestrict under Bazel
  c.target = static_cast<int32_t>(storage::CompareTarget::mod);
  c.result = static_cast<int32_t>(storage::CompareResult::equal);
  c.union_kind = storage::CompareTarget::mod;
  c.number = 49;
  t.compare.push_back(c);
  storage::PutRequest put;
  put.key.assign(1, 'k');
  put.value.assign(1, 'v');
  t.success.push_back(storage::RequestOp{put});
  return t;
}

storage::DeleteRangeRequest delete_k() {
  storage::DeleteRangeRequest d;
  d.key.assign(1, 'k');
  return d;
}

storage::PutRequest put_k() {
  storage::PutRequest p;
  p.key.assign(1, 'k');
  p.value.assign(1, 'v');
  return p;
}

struct LeaderFixture : testing::DoorSocketFixture {
  LeaderFixture() {
    auto& link = join_cluster(1, 60);
    link.read_lease_ns = std::chrono::nanoseconds(std::chrono::seconds(1)).count();
    link.read_index = sys.spawn(read_index, confirmations);
    answers->txn.revision = 54;  // the compare failed: nothing written
    answers->txn.succeeded = false;
    answers->del.revision = 54;  // nothing deleted
    answers->put.revision = 55;
    shard = sys.spawn(answering_shard, answers);
    start_door(shard);
  }
  ~LeaderFixture() {
    for (const auto& a : {shard, ctx->cluster->read_index})
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  }

  // A new door over the same context, whose one shard is `applier` instead.
  void serve_with(caf::actor applier) {
    caf::anon_send_exit(door, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(shard, caf::exit_reason::user_shutdown);
    sched.run();
    shard = std::move(applier);
    start_door(shard);
  }

  client::Response answer(std::vector<char> bytes) {
    self->send(door, actors::bytes_atom::value, std::move(bytes));
    sched.run();
    auto out = responses();
    REQUIRE(out.size() == 1);
    return std::move(out[0]);
  }

  std::shared_ptr<ShardAnswers> answers = std::make_shared<ShardAnswers>();
  std::shared_ptr<Confirmations> confirmations = std::make_shared<Confirmations>();
  caf::actor shard;
};

}  // namespace

TEST_CASE_METHOD(LeaderFixture,
                 "a leader outside its read lease confirms an answer that took no revision",
                 "[actors][door][cluster]") {
  // Not confirmed (leadership was lost): etcd's error instead of the store's answer.
  auto txn = answer(frame(1, protocol::Method::kv_txn, cas()));
  REQUIRE(txn.error);
  CHECK(txn.error->code == 14);
  CHECK(txn.error->message == "etcdserver: leader changed");
  CHECK(confirmations->asked == 1);
  auto del = answer(frame(2, protocol::Method::kv_delete_range, delete_k()));
  REQUIRE(del.error);
  CHECK(del.error->message == "etcdserver: leader changed");
  CHECK(confirmations->asked == 2);

  // Writes that took a revision were confirmed by their commit: no confirmation asked.
  CHECK_FALSE(answer(frame(3, protocol::Method::kv_put, put_k())).error);
  answers->txn.succeeded = true;
  answers->txn.revision = 56;
  answers->txn.responses.push_back(storage::ResponseOp{storage::PutResponse{}});
  CHECK_FALSE(answer(frame(4, protocol::Method::kv_txn, cas())).error);
  answers->del.deleted = 1;
  answers->del.revision = 57;
  CHECK_FALSE(answer(frame(5, protocol::Method::kv_delete_range, delete_k())).error);
  CHECK(confirmations->asked == 2);

  // Confirmed: the store's answer.
  answers->txn = storage::TxnResponse{54, false, {}};
  confirmations->confirm = true;
  CHECK_FALSE(answer(frame(6, protocol::Method::kv_txn, cas())).error);
  CHECK(confirmations->asked == 3);
}

TEST_CASE_METHOD(LeaderFixture, "a leader within its read lease answers a failed compare at once",
                 "[actors][door][cluster]") {
  ctx->cluster->read_lease_until.store(actors::ClusterLink::steady_now_ns() +
                                       std::chrono::nanoseconds(std::chrono::hours(1)).count());
  auto txn = answer(frame(1, protocol::Method::kv_txn, cas()));
  CHECK_FALSE(txn.error);
  CHECK(confirmations->asked == 0);
}

TEST_CASE_METHOD(LeaderFixture,
                 "a leader does not let a later leadership confirm an answer computed before it",
                 "[actors][door][cluster]") {
  // Deposed and elected again while the shard computed the answer (the epoch moved): refused
  // at once, even within the new leadership's lease, without a barrier.
  answers->before_txn_answer = [this] { ctx->cluster->leadership_epoch.fetch_add(2); };
  confirmations->confirm = true;
  ctx->cluster->read_lease_until.store(actors::ClusterLink::steady_now_ns() +
                                       std::chrono::nanoseconds(std::chrono::hours(1)).count());
  auto by_lease = answer(frame(1, protocol::Method::kv_txn, cas()));
  REQUIRE(by_lease.error);
  CHECK(by_lease.error->message == "etcdserver: leader changed");
  CHECK(confirmations->asked == 0);
  // The same leadership from dispatch to answer: the lease covers it.
  answers->before_txn_answer = nullptr;
  CHECK_FALSE(answer(frame(2, protocol::Method::kv_txn, cas())).error);
  CHECK(confirmations->asked == 0);
  // Outside the lease, deposed and elected again while the barrier ran: the barrier (of the
  // new leadership) does not confirm the answer.
  ctx->cluster->read_lease_until.store(0);
  confirmations->during_barrier = [this] { ctx->cluster->leadership_epoch.fetch_add(2); };
  auto by_barrier = answer(frame(3, protocol::Method::kv_txn, cas()));
  REQUIRE(by_barrier.error);
  CHECK(by_barrier.error->message == "etcdserver: leader changed");
  CHECK(confirmations->asked == 1);
}

TEST_CASE_METHOD(LeaderFixture, "a leader confirms a write's error answered from its store",
                 "[actors][door][cluster]") {
  auto shard_with_errors = sys.spawn([](caf::event_based_actor*) -> caf::behavior {
    return {[](const storage::PutRequest&) {
      return storage::Result<storage::PutResponse>{storage::Errc::lease_not_found};
    }};
  });
  // A second door over the same context, whose shard refuses every put.
  serve_with(shard_with_errors);
  auto refused = answer(frame(1, protocol::Method::kv_put, put_k()));
  REQUIRE(refused.error);
  CHECK(refused.error->message == "etcdserver: leader changed");
  CHECK(confirmations->asked == 1);
  confirmations->confirm = true;
  auto confirmed = answer(frame(2, protocol::Method::kv_put, put_k()));
  REQUIRE(confirmed.error);
  CHECK(confirmed.error->message == "etcdserver: requested lease not found");
  CHECK(confirmations->asked == 2);
}

namespace {

storage::TxnRequest serializable_read() {
  storage::TxnRequest t = cas();
  storage::RangeRequest r;
  r.key.assign(1, 'k');
  r.serializable = true;
  t.success.assign(1, storage::RequestOp{r});
  t.failure.assign(1, storage::RequestOp{r});
  return t;
}

}  // namespace

TEST_CASE_METHOD(LeaderFixture,
                 "a Txn of serializable Ranges is answered from the store, leader or not",
                 "[actors][door][cluster]") {
  // etcd's isTxnSerializable: no read index on the leader, outside its lease too...
  CHECK_FALSE(answer(frame(1, protocol::Method::kv_txn, serializable_read())).error);
  CHECK(confirmations->asked == 0);
  // ...and served by a follower itself, without a leader to forward to, where a Txn with one
  // linearizable Range is refused (no forwarder here).
  ctx->cluster->leader.store(false);
  ctx->cluster->leader_id.store(2);
  ctx->cluster->leadership_epoch.fetch_add(1);
  CHECK_FALSE(answer(frame(2, protocol::Method::kv_txn, serializable_read())).error);
  auto linearizable = serializable_read();
  std::get<storage::RangeRequest>(linearizable.failure[0].op).serializable = false;
  auto refused = answer(frame(3, protocol::Method::kv_txn, linearizable));
  REQUIRE(refused.error);
  CHECK(refused.error->message == "etcdserver: not leader");
  CHECK(confirmations->asked == 0);
}

TEST_CASE_METHOD(LeaderFixture,
                 "a Txn of serializable Ranges refused by the store is not confirmed either",
                 "[actors][door][cluster]") {
  auto refusing = sys.spawn([](caf::event_based_actor*) -> caf::behavior {
    return {[](const storage::TxnRequest&) {
      return storage::Result<storage::TxnResponse>{storage::Errc::compacted};
    }};
  });
  serve_with(refusing);
  auto refused = answer(frame(1, protocol::Method::kv_txn, serializable_read()));
  REQUIRE(refused.error);
  CHECK(refused.error->message == "etcdserver: mvcc: required revision has been compacted");
  CHECK(confirmations->asked == 0);
  // The store's error of a linearizable Txn is confirmed (and, unconfirmed, refused).
  auto linearizable = serializable_read();
  std::get<storage::RangeRequest>(linearizable.failure[0].op).serializable = false;
  auto unconfirmed = answer(frame(2, protocol::Method::kv_txn, linearizable));
  REQUIRE(unconfirmed.error);
  CHECK(unconfirmed.error->message == "etcdserver: leader changed");
  CHECK(confirmations->asked == 1);
}
