// The loop marker of forwarded requests (docs/CLUSTER.md "Forwarding"): a MessagePack door of
// a member that does not lead, on CAF's deterministic test coordinator, forwards a client's
// write and its membership change to the leader, and answers the same requests marked
// `forwarded` (another member's forwarder sent them) with `etcdserver: not leader` at once,
// without forwarding them again.

#include "actors/cluster_link.hpp"
#include "actors/forwarding.hpp"
#include "actors/messages.hpp"
#include "actors/msgpack_door.hpp"
#include "actors/node_context.hpp"
#include "client/response_decoder.hpp"
#include "protocol/cluster_messages.hpp"
#include "protocol/cluster_method.hpp"
#include "protocol/codec.hpp"
#include "protocol/frame.hpp"
#include "protocol/method.hpp"
#include "tests/actors/door_socket_fixture.hpp"
#include "util/unique_fd.hpp"

#include <memory>
#include <optional>
#include <string>
#include <sys/socket.h>
#include <vector>

using namespace revkv;

namespace {

// The forwarder (apps/revkvd/forwarder.hpp) as the request path sees it: it counts what it
// is sent and answers every write as the leader would.
caf::behavior counting_forwarder(caf::event_based_actor*, std::shared_ptr<int> sent) {
  return {[sent](actors::forward_atom, actors::ForwardCall&) -> actors::Answer {
    ++*sent;
    storage::PutResponse put;
    put.revision = 7;
    return actors::Response{put};
  }};
}

std::vector<char> frame_bytes(uint32_t msgid, std::string_view method, const std::string& body,
                              bool forwarded) {
  msgpack::sbuffer buf;
  protocol::write_request(buf, msgid, method, body, std::nullopt, forwarded);
  return {buf.data(), buf.data() + buf.size()};
}

std::vector<char> put_frame(uint32_t msgid, bool forwarded) {
  storage::PutRequest put;
  put.key.assign(1, 'k');  // not a string literal: GCC 12's false -Wrestrict under Bazel
  put.value.assign(1, 'v');
  return frame_bytes(msgid, protocol::method_name(protocol::Method::kv_put),
                     protocol::encode_to_string(put), forwarded);
}

std::vector<char> remove_frame(uint32_t msgid, bool forwarded) {
  protocol::MemberIdRequest remove;
  remove.id = 3;
  return frame_bytes(msgid, protocol::cluster_method_name(protocol::ClusterMethod::member_remove),
                     protocol::encode_to_string(remove), forwarded);
}

struct FollowerFixture : testing::DoorSocketFixture {
  FollowerFixture() {
    auto& link = join_cluster(2, 1);  // member 1 follows member 2
    forwarder = sys.spawn(counting_forwarder, forwarded);
    link.forwarder = forwarder;
    link.forward_call = [this](std::string method, std::string, std::optional<std::string>,
                               std::function<void(actors::ClusterLink::ForwardedCall)> done) {
      calls.push_back(std::move(method));
      done(protocol::WireError{9, "the leader's answer"});
    };
    start_door();
  }

  ~FollowerFixture() { caf::anon_send_exit(forwarder, caf::exit_reason::user_shutdown); }

  // The one response the door wrote since the last call.
  client::Response response() {
    auto out = responses();
    REQUIRE(out.size() == 1);
    return std::move(out[0]);
  }

  std::shared_ptr<int> forwarded = std::make_shared<int>(0);
  std::vector<std::string> calls;
  caf::actor forwarder;
};

}  // namespace

TEST_CASE_METHOD(FollowerFixture,
                 "a follower forwards a client's write and refuses a forwarded one at once",
                 "[actors][door][forwarding]") {
  self->send(door, actors::bytes_atom::value, put_frame(1, false));
  sched.run();
  auto relayed = response();
  CHECK(relayed.msgid == 1);
  CHECK_FALSE(relayed.error);
  CHECK(*forwarded == 1);

  self->send(door, actors::bytes_atom::value, put_frame(2, true));
  sched.run();
  auto refused = response();
  CHECK(refused.msgid == 2);
  REQUIRE(refused.error);
  CHECK(refused.error->code == 14);
  CHECK(refused.error->message == "etcdserver: not leader");
  CHECK(*forwarded == 1);  // not sent on

  // With no leader known the refusal says so, as for a client's request.
  ctx->cluster->leader_id.store(0);
  self->send(door, actors::bytes_atom::value, put_frame(3, true));
  sched.run();
  auto no_leader = response();
  REQUIRE(no_leader.error);
  CHECK(no_leader.error->message == "etcdserver: no leader");
  CHECK(*forwarded == 1);
}

TEST_CASE_METHOD(FollowerFixture,
                 "a follower forwards a client's membership change and refuses a forwarded one",
                 "[actors][door][forwarding]") {
  self->send(door, actors::bytes_atom::value, remove_frame(1, false));
  sched.run();
  auto relayed = response();
  REQUIRE(relayed.error);
  CHECK(relayed.error->message == "the leader's answer");
  CHECK(calls == std::vector<std::string>{"Cluster.MemberRemove"});

  self->send(door, actors::bytes_atom::value, remove_frame(2, true));
  sched.run();
  auto refused = response();
  CHECK(refused.msgid == 2);
  REQUIRE(refused.error);
  CHECK(refused.error->code == 14);
  CHECK(refused.error->message == "etcdserver: not leader");
  CHECK(calls.size() == 1);  // not sent on
}
