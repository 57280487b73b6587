#pragma once

// The node's state as Prometheus gauges, read at scrape time from the shared counters
// (never pushed per request). The full metric set is the monitoring issue's.

#include "actors/node_context.hpp"

#include <prometheus/collectable.h>

#include <memory>

namespace revkv::apps {

std::shared_ptr<prometheus::Collectable> make_node_metrics(actors::NodeContextPtr ctx);

}  // namespace revkv::apps
