// The leadership drain (actors/leadership_drain.hpp): the signal the member waits on, and the
// MessagePack door on CAF's deterministic test coordinator answering a write that waits
// with etcd's `etcdserver: leader changed` — written to its socket — before it lets go of
// the drain's hold.

#include "actors/leadership_drain.hpp"

#include "actors/messages.hpp"
#include "actors/msgpack_door.hpp"
#include "actors/node_context.hpp"
#include "client/response_decoder.hpp"
#include "protocol/codec.hpp"
#include "protocol/frame.hpp"
#include "protocol/method.hpp"
#include "tests/actors/door_socket_fixture.hpp"
#include "util/unique_fd.hpp"

#include <atomic>
#include <memory>
#include <string>
#include <sys/socket.h>
#include <thread>
#include <vector>

using namespace revkv;
using namespace std::chrono_literals;

namespace {

using Clock = actors::DrainSignal::Clock;

std::vector<char> put_frame(uint32_t msgid, const std::string& key) {
  storage::PutRequest put;
  put.key = key;
  // Not `= "v"`: GCC 12 at -O2 with _FORTIFY_SOURCE (Bazel's flags) warns falsely there
  // (-Wrestrict).
  put.value.assign(1, 'v');
  msgpack::sbuffer buf;
  protocol::write_request(buf, msgid, protocol::method_name(protocol::Method::kv_put),
                          protocol::encode_to_string(put));
  return {buf.data(), buf.data() + buf.size()};
}

// The door's writes wait on routes that never answer, as writes whose commit group is still
// being proposed.
struct DrainFixture : testing::DoorSocketFixture {
  DrainFixture() {
    ctx->watermark.store(1);
    start_door();
  }
};

}  // namespace

TEST_CASE("a drain signal is released when the last hold goes", "[actors][drain]") {
  auto signal = std::make_shared<actors::DrainSignal>();
  auto hold = std::make_shared<actors::DrainHold>(signal);
  auto copy = hold;
  hold.reset();
  // One copy is still held: the wait ends at its deadline, unreleased.
  CHECK_FALSE(signal->wait_until(Clock::now() + 20ms));
  std::thread door([held = std::move(copy)]() mutable { held.reset(); });
  CHECK(signal->wait_until(Clock::now() + 60s));
  door.join();
}

TEST_CASE("a drain signal also waits for the conditions registered on it", "[actors][drain]") {
  auto signal = std::make_shared<actors::DrainSignal>();
  auto finishing = std::make_shared<std::atomic<int>>(1);
  {
    actors::DrainHold hold(signal);
    hold.signal().also_wait_for([finishing](auto) { return finishing->load() == 0; });
  }
  // Released, but a call is still being finished: unsettled at the deadline.
  CHECK_FALSE(signal->wait_until(Clock::now() + 20ms));
  std::thread grpc([finishing] { finishing->store(0); });
  CHECK(signal->wait_until(Clock::now() + 60s));
  grpc.join();
}

TEST_CASE_METHOD(DrainFixture,
                 "a door answers a waiting write with leader changed and writes it before it "
                 "lets the drain go",
                 "[actors][door][drain]") {
  self->send(door, actors::bytes_atom::value, put_frame(1, "a"));
  sched.run();
  // The shard never answers: the write waits, unanswered.
  CHECK(responses().empty());

  auto signal = std::make_shared<actors::DrainSignal>();
  self->send(door, actors::leader_lost_atom::value, std::make_shared<actors::DrainHold>(signal));
  sched.run();
  // The answer is on the socket, and only then did the door drop its hold.
  auto answered = responses();
  REQUIRE(answered.size() == 1);
  CHECK(answered[0].msgid == 1);
  REQUIRE(answered[0].error);
  CHECK(answered[0].error->code == 14);
  CHECK(answered[0].error->message == "etcdserver: leader changed");
  CHECK(signal->wait_until(Clock::now()));

  // A request that comes after the drain is refused the same way, at once: nothing of the
  // failed group can be read or overwritten while the member restarts.
  self->send(door, actors::bytes_atom::value, put_frame(2, "b"));
  sched.run();
  auto later = responses();
  REQUIRE(later.size() == 1);
  CHECK(later[0].msgid == 2);
  REQUIRE(later[0].error);
  CHECK(later[0].error->message == "etcdserver: leader changed");
}
