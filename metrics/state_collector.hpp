#pragma once

// The node's state as Prometheus gauges, computed at scrape time from the shared
// NodeContext (atomics, the backend's size, the lease table): nothing is pushed per
// request. Collect() runs on the metrics listener's thread and never waits on an actor.
// Lifetime: the collector holds the NodeContext, so the Backend it reads outlives it; the
// listener goes on scraping while Node::stop closes the backend, which Backend::size()
// allows (close() waits for a size() in progress; a later one is an error, and the
// collector then reports the last db_size).
// Every family is listed in docs/METRICS.md.

#include "actors/node_context.hpp"

#include <prometheus/collectable.h>

#include <memory>

namespace revkv::metrics {

std::shared_ptr<prometheus::Collectable> make_state_collector(actors::NodeContextPtr ctx);

}  // namespace revkv::metrics
