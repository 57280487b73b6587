#pragma once

// A MessagePack door on CAF's deterministic test coordinator with its connection's other end
// in the test's hands (a socketpair): the test sends the door frames as its I/O thread would
// (bytes_atom) and reads what the door wrote to the socket. Every route is one actor that
// takes every request and answers none, so a request the door hands on waits for ever;
// what the door answers by itself (refusals, drains) is what such tests look at.

#include "actors/cluster_link.hpp"
#include "actors/messages.hpp"
#include "actors/msgpack_door.hpp"
#include "actors/node_context.hpp"
#include "actors/routes.hpp"
#include "client/response_decoder.hpp"
#include "tests/actors/backend_stub.hpp"
#include "tests/actors/caf_dsl.hpp"
#include "util/unique_fd.hpp"

#include <memory>
#include <string_view>
#include <sys/socket.h>
#include <utility>
#include <vector>

namespace revkv::testing {

inline caf::behavior silent_route(caf::event_based_actor* self) {
  self->set_default_handler(caf::skip);
  return {[](actors::shutdown_atom) {}};
}

struct DoorSocketFixture : test_coordinator_fixture<> {
  // Cluster mode: the node is member 1 of a cluster led by member `leader` (1: itself, which
  // then leads and serves), with everything up to `revision` applied; the link, to fill in.
  actors::ClusterLink& join_cluster(uint64_t leader, int64_t revision) {
    ctx->watermark.store(revision);
    ctx->last_revision.store(revision);
    auto link = std::make_shared<actors::ClusterLink>();
    link->member_id = 1;
    link->leader_id.store(leader);
    link->leader.store(leader == 1);
    ctx->cluster = link;
    return *link;
  }

  // Spawns the door over `ctx` as it is now (set ctx->cluster etc. before). `applier`, if
  // given, is the one shard and the coordinator: the actor that applies every KV request.
  void start_door(caf::actor applier = {}) {
    int fds[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);
    client.reset(fds[1]);
    route = sys.spawn(silent_route);
    broker = sys.spawn(silent_route);
    actors::Routes routes;
    routes.shards = {applier ? applier : route};
    routes.coordinator = applier ? applier : route;
    routes.maintenance = routes.lessor = routes.watch_hub = route;
    if (maintenance) routes.maintenance = maintenance;
    if (!backend) backend = sys.spawn(backend_stub, backend_answers);
    routes.backend = backend;
    door = actors::spawn_msgpack_door(sys, ctx, routes, broker, fds[0]);
    sched.run();
  }

  ~DoorSocketFixture() {
    for (const auto& a : {route, broker, door, backend, maintenance})
      if (a) caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    sched.run();
  }

  // The responses the door wrote to the socket since the last call.
  std::vector<client::Response> responses() {
    char buf[65536];
    for (ssize_t n; (n = ::recv(client.get(), buf, sizeof buf, MSG_DONTWAIT)) > 0;)
      decoder.feed(std::string_view(buf, static_cast<size_t>(n)));
    std::vector<client::Response> out;
    for (;;) {
      auto next = decoder.next();
      REQUIRE(next.ok());
      if (!next.value()) break;
      if (auto* r = std::get_if<client::Response>(&*next.value())) out.push_back(std::move(*r));
    }
    return out;
  }

  actors::NodeContextPtr ctx = std::make_shared<actors::NodeContext>();
  util::UniqueFd client;
  client::ResponseDecoder decoder;
  std::shared_ptr<BackendStub> backend_answers = std::make_shared<BackendStub>();
  caf::actor route, broker, door, backend;
  caf::actor maintenance;  // set before start_door: the maintenance route, else `route`
};

}  // namespace revkv::testing
