#include "metrics/health.hpp"

#include <utility>

namespace revkv::metrics {

void NodeHealth::serving(actors::NodeContextPtr ctx) {
  if (phase_.load(std::memory_order_acquire) != Phase::starting) return;
  ctx_ = std::move(ctx);
  phase_.store(Phase::serving, std::memory_order_release);
}

void NodeHealth::stopping() {
  phase_.store(Phase::stopping, std::memory_order_release);
}

HealthReport NodeHealth::check() const {
  switch (phase_.load(std::memory_order_acquire)) {
    case Phase::starting:
      return {false, "starting"};
    case Phase::stopping:
      return {false, "stopping"};
    case Phase::serving:
      break;
  }
  // A dead core actor first: the node is about to exit (actors/supervisor_actor.hpp), and
  // the reason names the actor.
  if (ctx_->failure.failed()) return {false, ctx_->failure.reason()};
  // etcd's /health reports a raised alarm the same way.
  if (ctx_->nospace_alarm.load()) return {false, "ALARM NOSPACE"};
  // Cluster mode: as etcd's /health, unhealthy while the member knows no leader.
  if (ctx_->cluster && !ctx_->cluster->has_leader()) return {false, "no leader"};
  return {true, ""};
}

}  // namespace revkv::metrics
