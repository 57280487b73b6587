#pragma once

// The node's state as Prometheus gauges, computed at scrape time from the shared
// NodeContext (atomics, the backend's size, the lease table): nothing is pushed per
// request. Collect() runs on the metrics listener's thread and never waits on an actor.
// Every family is listed in docs/METRICS.md.

#include "actors/node_context.hpp"

#include <prometheus/collectable.h>

#include <memory>

namespace revkv::metrics {

std::shared_ptr<prometheus::Collectable> make_state_collector(actors::NodeContextPtr ctx);

}  // namespace revkv::metrics
