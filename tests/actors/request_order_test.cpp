// The ordering rules of the one request path (actors/request_path.hpp), message by message
// on CAF's deterministic test coordinator: the path runs in a harness door, the shards are
// scripted actors that answer writes as applied, and the test plays the backend (it moves
// the watermark and sends the durability notice). What is checked is the order in which
// messages leave and answers come back, which a real scheduler would only show by chance.

#include "actors/messages.hpp"
#include "actors/node_context.hpp"
#include "actors/request_path.hpp"
#include "storage/keyspace.hpp"
#include "storage/keyspace_set.hpp"
#include "tests/actors/backend_stub.hpp"
#include "tests/actors/caf_dsl.hpp"
#include "tests/actors/harness_door.hpp"

#include <atomic>
#include <deque>
#include <memory>
#include <string>
#include <vector>

using namespace revkv;
using testing::harness_call_atom;

namespace {

using Log = std::shared_ptr<std::vector<std::string>>;

std::string describe(const actors::Answer& a) {
  if (const auto* e = std::get_if<storage::Error>(&a)) return "error " + e->message();
  if (const auto* w = std::get_if<protocol::WireError>(&a)) {
    return "failed " + std::to_string(w->code);
  }
  return std::visit(
      [](const auto& r) -> std::string {
        using T = std::decay_t<decltype(r)>;
        if constexpr (std::is_same_v<T, actors::NoAnswer>) {
          return "nothing";
        } else if constexpr (requires { r.revision; }) {
          return "ok " + std::to_string(r.revision);
        } else {
          return "ok";
        }
      },
      std::get<actors::Response>(a));
}

// A shard that answers each write at once as applied at the next revision (it has no
// backend: the test plays it), and each range read with nothing.
caf::behavior scripted_shard(caf::event_based_actor*, std::shared_ptr<int64_t> revision,
                             bool refuse) {
  return {
      [revision, refuse](const storage::PutRequest&) -> storage::Result<storage::PutResponse> {
        if (refuse) return storage::Errc::lease_not_found;
        storage::PutResponse r;
        r.revision = ++*revision;
        return r;
      },
      [](actors::range_atom, const storage::RangeRequest&,
         int64_t) -> storage::Result<storage::RangeFetch> { return storage::RangeFetch{}; },
  };
}

// A shard that holds each range read until told to answer the oldest one (release_atom),
// counting the reads it received: how many a door has sent on at once.
using release_atom = caf::atom_constant<caf::atom("release")>;
struct HoldingShard {
  std::deque<caf::response_promise> held;
};
caf::behavior holding_shard(caf::stateful_actor<HoldingShard>* self,
                            std::shared_ptr<int> received) {
  return {
      [self, received](actors::range_atom, const storage::RangeRequest&,
                       int64_t) -> caf::response_promise {
        ++*received;
        self->state.held.push_back(self->make_response_promise());
        return self->state.held.back();
      },
      [self](release_atom) {
        if (self->state.held.empty()) return;
        self->state.held.front().deliver(
            storage::Result<storage::RangeFetch>(storage::RangeFetch{}));
        self->state.held.pop_front();
      },
  };
}

// A client of the door: sends each (label, request) it is given and logs the answers in
// the order they arrive.
caf::behavior client(caf::event_based_actor* self, caf::actor door, Log log) {
  return {
      [=](const std::string& label, actors::Request& request) {
        self->request(door, caf::infinite, harness_call_atom::value, std::move(request))
            .then([=](actors::Answer& a) { log->push_back(label + ": " + describe(a)); });
      },
  };
}

// The first key (of "k0", "k1", ...) owned by `shard` of `shards`.
std::string key_on(size_t shard, size_t shards) {
  for (int i = 0;; ++i) {
    auto key = "k" + std::to_string(i);
    if (storage::shard_of(key, shards) == shard) return key;
  }
}

actors::Request put(const std::string& key) {
  return actors::Request{storage::PutRequest{key, "v"}};
}

actors::Request range(const std::string& key) {
  storage::RangeRequest r;
  r.key = key;
  return actors::Request{r};
}

struct OrderFixture : test_coordinator_fixture<> {
  OrderFixture() {
    ctx->options.shards = 2;
    ctx->watermark.store(1);
    ctx->last_revision.store(1);
    auto revision = std::make_shared<int64_t>(1);
    shard0 = sys.spawn(scripted_shard, revision, false);
    shard1 = sys.spawn(scripted_shard, revision, false);
    refusing = sys.spawn(scripted_shard, revision, true);
    routes.shards = {shard0, shard1};
    routes.coordinator = shard0;  // not reached: every request here touches one key
    routes.maintenance = shard0;
    routes.lessor = shard0;
    routes.watch_hub = shard0;
    backend = sys.spawn(testing::backend_stub, std::make_shared<testing::BackendStub>());
    routes.backend = backend;
    door = testing::spawn_harness_door(sys, ctx, routes, shard0);
    user = sys.spawn(client, door, log);
    sched.run();
  }

  ~OrderFixture() {
    for (const auto& a : {shard0, shard1, refusing, door, user, backend})
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    sched.run();
  }

  // The backend's part: W moves to `w`, and the door hears of it.
  void make_durable(int64_t w) {
    ctx->watermark.store(w);
    self->send(door, actors::durable_atom::value, w);
    sched.run();
  }

  // A request sent by the client, as far as the door's taking it.
  void submit(const std::string& label, actors::Request request) {
    self->send(user, label, std::move(request));
    expect((std::string, actors::Request), from(self).to(user));
    expect((harness_call_atom, actors::Request), from(user).to(door));
  }

  actors::NodeContextPtr ctx = std::make_shared<actors::NodeContext>();
  Log log = std::make_shared<std::vector<std::string>>();
  caf::actor shard0, shard1, refusing, door, user, backend;
  actors::Routes routes;
};

}  // namespace

TEST_CASE_METHOD(OrderFixture,
                 "pipelined writes to two shards: the second leaves once the first is applied, "
                 "not durable, answers leave in order once durable",
                 "[actors][order]") {
  submit("w1", put(key_on(0, 2)));
  submit("w2", put(key_on(1, 2)));
  // w1 went to shard 0; w2 waits: shard 1 could otherwise give it an earlier revision.
  CHECK_FALSE(sched.prioritize(shard1));
  expect((storage::PutRequest), from(door).to(shard0));
  expect((storage::Result<storage::PutResponse>), from(shard0).to(door));
  // Applied (revision 2) but not durable: w2 may go now.
  expect((storage::PutRequest), from(door).to(shard1));
  expect((storage::Result<storage::PutResponse>), from(shard1).to(door));
  sched.run();
  CHECK(log->empty());  // nothing is durable yet

  make_durable(2);
  CHECK(*log == std::vector<std::string>{"w1: ok 2"});
  make_durable(3);
  CHECK(*log == std::vector<std::string>{"w1: ok 2", "w2: ok 3"});
}

TEST_CASE_METHOD(OrderFixture, "writes to one shard are sent without waiting for each other",
                 "[actors][order]") {
  auto key = key_on(0, 2);
  submit("w1", put(key));
  submit("w2", put(key));
  submit("w3", put(key));
  // All three are in shard 0's mailbox before it has answered any: its mailbox keeps order.
  expect((storage::PutRequest), from(door).to(shard0));
  expect((storage::PutRequest), from(door).to(shard0));
  expect((storage::PutRequest), from(door).to(shard0));
  sched.run();
  CHECK(log->empty());
  make_durable(4);  // one group commit covers all three
  CHECK(*log == std::vector<std::string>{"w1: ok 2", "w2: ok 3", "w3: ok 4"});
}

TEST_CASE_METHOD(OrderFixture,
                 "a refused write is answered after the earlier write it follows, not before",
                 "[actors][order]") {
  routes.shards = {shard0, refusing};
  auto ordered = testing::spawn_harness_door(sys, ctx, routes, shard0);
  auto other = sys.spawn(client, ordered, log);
  sched.run();
  self->send(other, std::string("w1"), put(key_on(0, 2)));
  self->send(other, std::string("w2"), put(key_on(1, 2)));  // the shard refuses it
  sched.run();
  CHECK(log->empty());  // w2's refusal waits for w1, which is not durable
  ctx->watermark.store(2);
  self->send(ordered, actors::durable_atom::value, int64_t{2});
  sched.run();
  CHECK(*log == std::vector<std::string>{"w1: ok 2",
                                         "w2: error etcdserver: requested lease "
                                         "not found"});
  caf::anon_send_exit(ordered, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(other, caf::exit_reason::user_shutdown);
  sched.run();
}

TEST_CASE_METHOD(OrderFixture, "a read after a write waits until the write is answered",
                 "[actors][order]") {
  auto key = key_on(1, 2);
  submit("w", put(key));
  submit("r", range(key));
  expect((storage::PutRequest), from(door).to(shard1));
  expect((storage::Result<storage::PutResponse>), from(shard1).to(door));
  sched.run();
  // Applied is not enough: a read served at W now would not see the write.
  CHECK_FALSE(sched.prioritize(shard1));
  CHECK(log->empty());
  make_durable(2);
  CHECK(*log == std::vector<std::string>{"w: ok 2", "r: ok 2"});
}

TEST_CASE_METHOD(OrderFixture, "a write after a read waits until the read is answered",
                 "[actors][order]") {
  auto key = key_on(0, 2);
  submit("r", range(key));
  submit("w", put(key_on(1, 2)));
  expect((actors::range_atom, storage::RangeRequest, int64_t), from(door).to(shard0));
  CHECK_FALSE(sched.prioritize(shard1));  // the write waits for the read's answer
  expect((storage::Result<storage::RangeFetch>), from(shard0).to(door));
  expect((storage::PutRequest), from(door).to(shard1));
  sched.run();
  make_durable(2);
  CHECK(*log == std::vector<std::string>{"r: ok 1", "w: ok 2"});
}

TEST_CASE_METHOD(OrderFixture,
                 "a failed node answers every waiting request and every later one Unavailable",
                 "[actors][order]") {
  submit("w1", put(key_on(0, 2)));
  submit("w2", put(key_on(1, 2)));
  submit("r", range(key_on(0, 2)));
  sched.run();  // both writes applied, none durable: the backend "died"
  CHECK(log->empty());
  self->send(door, actors::node_failed_atom::value, std::string("backend down"));
  sched.run();
  CHECK(*log == std::vector<std::string>{"w1: failed 14", "w2: failed 14", "r: failed 14"});
  submit("later", put(key_on(0, 2)));
  sched.run();
  CHECK(log->back() == "later: failed 14");
  CHECK_FALSE(sched.prioritize(shard0));  // it never reached a shard
}

TEST_CASE_METHOD(OrderFixture,
                 "reads in turns: the third read leaves when one of two answers, the write "
                 "after them waits for all, a Range over the unsent bound is refused unrun",
                 "[actors][order]") {
  auto received = std::make_shared<int>(0);
  auto holding = sys.spawn(holding_shard, received);
  routes.shards = {holding, shard1};
  auto unsent = std::make_shared<std::atomic<uint64_t>>(0);
  auto turned = testing::spawn_harness_door(sys, ctx, routes, holding,
                                            actors::RequestPath::ReadTurns{2, 100}, unsent);
  auto other = sys.spawn(client, turned, log);
  sched.run();
  const auto key = key_on(0, 2);
  for (const char* label : {"r1", "r2", "r3", "r4"})
    self->send(other, std::string(label), range(key));
  self->send(other, std::string("w"), put(key_on(1, 2)));
  sched.run();
  CHECK(*received == 2);  // two turns: r3, r4 and the write wait in the path
  CHECK(log->empty());

  self->send(holding, release_atom::value);
  sched.run();
  CHECK(*received == 3);  // r1 answered: r3 took its turn
  CHECK(*log == std::vector<std::string>{"r1: ok 1"});

  // The peer stops taking output: r4's turn comes over the bound, and it is refused (code
  // 8, etcd's "too many requests") without reaching the shard.
  unsent->store(101);
  self->send(holding, release_atom::value);
  sched.run();
  CHECK(*received == 3);
  CHECK(*log == std::vector<std::string>{"r1: ok 1", "r2: ok 1", "r4: failed 8"});
  CHECK_FALSE(sched.prioritize(shard1));  // the write still waits for r3

  self->send(holding, release_atom::value);
  sched.run();
  ctx->watermark.store(2);
  self->send(turned, actors::durable_atom::value, int64_t{2});
  sched.run();
  CHECK(*log ==
        std::vector<std::string>{"r1: ok 1", "r2: ok 1", "r4: failed 8", "r3: ok 1", "w: ok 2"});
  for (const auto& a : {holding, turned, other})
    caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  sched.run();
}
