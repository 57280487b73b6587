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
};

}  // namespace revkv::actors
