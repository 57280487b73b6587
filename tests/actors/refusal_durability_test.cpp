// A write the store refuses (a lease or a key not found) tells what the store held, which may
// include writes not yet durable: a revocation whose record's removal is still on its way to
// disk. On CAF's deterministic test coordinator, a single node's MessagePack door whose one
// shard refuses puts, and whose backend's answers the test holds: the refusal leaves only
// once the backend says that W has reached the last revision handed out and that every
// write without revision handed to it before is durable. The backend's side of it (a revocation's
// record) is held_sync_test's "a put refused for a lease whose revocation is not yet durable waits
// for the revocation".

#include "actors/messages.hpp"
#include "actors/node_context.hpp"
#include "protocol/codec.hpp"
#include "protocol/frame.hpp"
#include "protocol/method.hpp"
#include "tests/actors/door_socket_fixture.hpp"

#include <string>
#include <utility>
#include <vector>

using namespace revkv;

namespace {

// Refuses a put to a lease (lease not found) and one that keeps a value (key not found);
// applies any other at revision 50, which W already covers.
caf::behavior refusing_shard(caf::event_based_actor*) {
  return {[](const storage::PutRequest& p) {
    if (p.lease != 0) return storage::Result<storage::PutResponse>{storage::Errc::lease_not_found};
    if (p.ignore_value) return storage::Result<storage::PutResponse>{storage::Errc::key_not_found};
    storage::PutResponse applied;
    applied.revision = 50;
    return storage::Result<storage::PutResponse>{applied};
  }};
}

enum class Put { to_lease, keeping_value, plain };

std::vector<char> put_frame(uint32_t msgid, Put kind) {
  storage::PutRequest p;
  p.key.assign(1, 'k');
  if (kind == Put::keeping_value) {
    p.ignore_value = true;
  } else {
    p.value.assign(1, 'v');
  }
  if (kind == Put::to_lease) p.lease = 7;
  msgpack::sbuffer buf;
  protocol::write_request(buf, msgid, protocol::method_name(protocol::Method::kv_put),
                          protocol::encode_to_string(p), std::nullopt, false);
  return {buf.data(), buf.data() + buf.size()};
}

struct RefusingNode : testing::DoorSocketFixture {
  RefusingNode() {
    // Revisions up to 60 were handed out, W is at 50: ten are applied, not yet durable.
    ctx->last_revision.store(60);
    ctx->watermark.store(50);
    backend_answers->hold = true;
    shard = sys.spawn(refusing_shard);
    start_door(shard);
  }
  ~RefusingNode() { caf::anon_send_exit(shard, caf::exit_reason::user_shutdown); }

  void backend_answers_all() {
    self->send(backend, actors::flush_atom::value);
    sched.run();
  }

  caf::actor shard;
};

}  // namespace

TEST_CASE_METHOD(RefusingNode, "a write's refusal leaves once what the store held is durable",
                 "[actors][door][durability]") {
  for (auto [kind, text] : {std::pair{Put::to_lease, "etcdserver: requested lease not found"},
                            std::pair{Put::keeping_value, "etcdserver: key not found"}}) {
    INFO(text);
    backend_answers->asked.clear();
    self->send(door, actors::bytes_atom::value, put_frame(1, kind));
    sched.run();
    // Refused by the shard, asked of the backend, held until it answers.
    CHECK(backend_answers->asked == std::vector<int64_t>{60});
    CHECK(responses().empty());
    backend_answers_all();
    auto out = responses();
    REQUIRE(out.size() == 1);
    REQUIRE(out[0].error);
    CHECK(out[0].error->message == text);
  }
}

TEST_CASE_METHOD(RefusingNode, "a write pipelined behind a held refusal leaves after it",
                 "[actors][door][durability]") {
  // The second put is applied at a revision W covers: alone it would leave at once.
  self->send(door, actors::bytes_atom::value, put_frame(1, Put::to_lease));
  self->send(door, actors::bytes_atom::value, put_frame(2, Put::plain));
  sched.run();
  CHECK(backend_answers->asked == std::vector<int64_t>{60});
  CHECK(responses().empty());
  backend_answers_all();
  auto out = responses();
  REQUIRE(out.size() == 2);
  CHECK(out[0].msgid == 1);
  REQUIRE(out[0].error);
  CHECK(out[0].error->message == "etcdserver: requested lease not found");
  CHECK(out[1].msgid == 2);
  CHECK_FALSE(out[1].error);
}
