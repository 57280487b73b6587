#pragma once

// What /health answers for the node: 503 while it starts or stops, once a core actor died
// (the reason names it: "core actor shard:1 died: exit_reason(kill)") and while the NOSPACE
// alarm is raised, 200 otherwise. Written by revkvd's main thread, read by the metrics
// listener's worker threads without a lock.

#include "actors/node_context.hpp"
#include "metrics/http_server.hpp"

#include <atomic>
#include <cstdint>

namespace revkv::metrics {

class NodeHealth {
 public:
  // The node serves: `ctx` is read by every check from now on.
  void serving(actors::NodeContextPtr ctx);
  // Shutdown began: unhealthy until the process exits.
  void stopping();

  HealthReport check() const;

 private:
  enum class Phase : uint8_t { starting, serving, stopping };
  std::atomic<Phase> phase_{Phase::starting};
  // Set once, before phase_ becomes serving (release); read only after seeing serving.
  actors::NodeContextPtr ctx_;
};

}  // namespace revkv::metrics
