#pragma once

// The node's core actors, as every door's request path reaches them.

#include <caf/actor.hpp>

#include <vector>

namespace revkv::actors {

struct Routes {
  std::vector<caf::actor> shards;
  caf::actor coordinator;
  caf::actor maintenance;
  caf::actor lessor;
  caf::actor watch_hub;
  // The backend actor: the records a door must make durable itself (the NOSPACE alarm
  // raised by the quota) go through its commit group, and a KV write's refusal waits for
  // its all_durable answer (actors/backend_actor.hpp). Every door that takes KV writes
  // needs it.
  caf::actor backend;
  // The MessagePack doors' Auth.* calls (actors/auth_runner.hpp); null: a door runs them
  // itself (in-process tests without a node).
  caf::actor auth;
};

}  // namespace revkv::actors
