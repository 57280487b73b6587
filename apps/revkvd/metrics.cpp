#include "apps/revkvd/metrics.hpp"

#include <prometheus/metric_family.h>

namespace revkv::apps {
namespace {

class NodeCollector : public prometheus::Collectable {
 public:
  explicit NodeCollector(actors::NodeContextPtr ctx) : ctx_(std::move(ctx)) {}

  std::vector<prometheus::MetricFamily> Collect() const override {
    return {
        gauge("revkv_current_revision", "Newest revision taken by a write.",
              static_cast<double>(ctx_->last_revision.load())),
        gauge("revkv_commit_watermark", "Every revision at or below it is durable.",
              static_cast<double>(ctx_->watermark.load())),
        gauge("revkv_compact_revision", "Revision history is kept from.",
              static_cast<double>(ctx_->compact_revision.load())),
    };
  }

 private:
  static prometheus::MetricFamily gauge(const char* name, const char* help, double value) {
    prometheus::MetricFamily f{name, help, prometheus::MetricType::Gauge, {}};
    prometheus::ClientMetric m;
    m.gauge.value = value;
    f.metric.push_back(m);
    return f;
  }

  actors::NodeContextPtr ctx_;
};

}  // namespace

std::shared_ptr<prometheus::Collectable> make_node_metrics(actors::NodeContextPtr ctx) {
  return std::make_shared<NodeCollector>(std::move(ctx));
}

}  // namespace revkv::apps
