// The MessagePack door on CAF's deterministic test coordinator, writing to one end of a
// socketpair as it writes to a client's socket: the watch hub and the broker are scripted
// actors, so what the door tells them can be checked message by message.

#include "actors/msgpack_door.hpp"

#include "actors/messages.hpp"
#include "actors/node_context.hpp"
#include "protocol/codec.hpp"
#include "protocol/frame.hpp"
#include "tests/actors/caf_dsl.hpp"
#include "util/unique_fd.hpp"

#include <memory>
#include <string>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

using namespace revkv;

namespace {

using Log = std::shared_ptr<std::vector<std::string>>;

// A watch hub that accepts every create (answering at revision 1) and logs what else the
// door tells it.
caf::behavior scripted_hub(caf::event_based_actor* self, Log log,
                           std::shared_ptr<uint64_t> last_tag) {
  return {
      [=](actors::watch_create_atom, uint32_t ref, uint64_t tag, const actors::WatchSpec&) {
        *last_tag = tag;
        self->send(caf::actor_cast<caf::actor>(self->current_sender()),
                   actors::watch_created_atom::value, ref, tag, int64_t{1});
      },
      [=](actors::watch_slow_atom, uint64_t, int64_t) { log->push_back("slow"); },
      [=](actors::watch_drained_atom) { log->push_back("drained"); },
  };
}

// A broker that takes everything and relays nothing: the door writes to the socket itself.
caf::behavior silent_broker(caf::event_based_actor* self) {
  self->set_default_handler(caf::drop);
  return {[](actors::shutdown_atom) {}};
}

std::vector<char> watch_create_frame() {
  protocol::WatchCreateRequest create;
  create.key = "k";
  msgpack::sbuffer buf;
  protocol::write_request(buf, 1, "Watch.Watch",
                          protocol::encode_to_string(protocol::WatchRequest{create}));
  return {buf.data(), buf.data() + buf.size()};
}

protocol::WatchResponse events(int64_t revision, size_t value_bytes) {
  protocol::WatchResponse r;
  storage::Event ev;
  ev.kv.key = "k";
  ev.kv.mod_revision = revision;
  ev.kv.create_revision = revision;
  ev.kv.version = 1;
  ev.kv.value = std::string(value_bytes, 'v');
  r.events.push_back(ev);
  return r;
}

struct DoorFixture : test_coordinator_fixture<> {
  DoorFixture() {
    int fds[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);
    client.reset(fds[1]);
    ctx->options.watch_buffer_bytes = 4096;
    ctx->watermark.store(1);
    hub = sys.spawn(scripted_hub, log, last_tag);
    broker = sys.spawn(silent_broker);
    actors::Routes routes;
    routes.shards = {hub};
    routes.coordinator = routes.maintenance = routes.lessor = hub;
    routes.watch_hub = hub;
    door = actors::spawn_msgpack_door(sys, ctx, routes, broker, fds[0]);
    sched.run();
  }

  ~DoorFixture() {
    for (const auto& a : {hub, broker, door})
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    sched.run();
  }

  // Everything the door wrote so far (the socketpair holds it).
  size_t drain_client() {
    size_t total = 0;
    char buf[65536];
    for (ssize_t n; (n = ::recv(client.get(), buf, sizeof buf, MSG_DONTWAIT)) > 0;)
      total += static_cast<size_t>(n);
    return total;
  }

  actors::NodeContextPtr ctx = std::make_shared<actors::NodeContext>();
  Log log = std::make_shared<std::vector<std::string>>();
  std::shared_ptr<uint64_t> last_tag = std::make_shared<uint64_t>(0);
  util::UniqueFd client;
  caf::actor hub, broker, door;
};

}  // namespace

TEST_CASE_METHOD(DoorFixture,
                 "a watcher parked while the door's output was large is released once the "
                 "socket has taken it directly",
                 "[actors][door]") {
  self->send(door, actors::bytes_atom::value, watch_create_frame());
  sched.run();
  REQUIRE(*last_tag != 0);
  CHECK(drain_client() > 0);  // the created answer, written by the door itself

  // One turn of the hub's: three responses of 3 KiB for a client that reads. The buffer is
  // 4 KiB, so the second one finds the door holding more than that, unsent: parked.
  actors::WatchDeliveries deliveries;
  for (int64_t rev = 2; rev <= 4; ++rev)
    deliveries.push_back(actors::WatchDelivery{*last_tag, events(rev, 3000)});
  self->send(door, actors::watch_out_atom::value, std::move(deliveries));
  sched.run();
  // The socket took everything at the end of the turn, no broker involved: nothing else
  // will ever report it sent, so the door itself must tell the hub to resend from `kv`.
  CHECK(*log == std::vector<std::string>{"slow", "drained"});
  CHECK(drain_client() > 3000);
}
