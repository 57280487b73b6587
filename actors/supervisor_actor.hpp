#pragma once

// Supervision (docs/NODE.md): the node cannot serve without any one of its core actors
// (backend, shards, coordinator, maintenance, watch hub, lessor), and CAF 0.17 answers no
// request whose response promise died with its actor, so a dead core actor would leave
// requests waiting forever. The supervisor monitors every core actor; the first down
// message is the node's failure:
//   - it is recorded in NodeContext::failure (/health answers 503 with the reason),
//   - logged at error level, naming the actor and the exit reason,
//   - sent as (node_failed_atom, reason) to the acceptor, which tells every session to fail
//     its waiting requests with Unavailable,
//   - passed to the failure callback (revkvd exits non-zero for its supervisor to restart it).
// Node::stop stops the supervisor before the core actors, so a clean shutdown is no failure.
//
// Messages: (get_atom) -> std::string: the recorded failure ("" while none).

#include "actors/node_context.hpp"

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace revkv::actors {

// A core actor and the name supervision reports it by ("backend", "shard:2", ...).
using NamedActor = std::pair<std::string, caf::actor>;

// Called once, with the failure's reason, on the supervisor's thread: keep it short and
// thread-safe (revkvd's wakes its main thread).
using FailureCallback = std::function<void(const std::string& reason)>;

// Monitors every actor of `watched`. `acceptor` may be invalid (a node without a
// listener), `on_failure` empty.
caf::actor spawn_supervisor_actor(caf::actor_system& sys, NodeContextPtr ctx,
                                  std::vector<NamedActor> watched, caf::actor acceptor,
                                  FailureCallback on_failure);

}  // namespace revkv::actors
