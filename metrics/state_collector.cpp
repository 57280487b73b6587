#include "metrics/state_collector.hpp"

#include <prometheus/metric_family.h>

#include <string>
#include <utility>
#include <vector>

namespace revkv::metrics {
namespace {

prometheus::MetricFamily gauge(const char* name, const char* help, double value) {
  prometheus::MetricFamily f{name, help, prometheus::MetricType::Gauge, {}};
  prometheus::ClientMetric m;
  m.gauge.value = value;
  f.metric.push_back(std::move(m));
  return f;
}

class StateCollector : public prometheus::Collectable {
 public:
  explicit StateCollector(actors::NodeContextPtr ctx) : ctx_(std::move(ctx)) {}

  std::vector<prometheus::MetricFamily> Collect() const override {
    const auto& ctx = *ctx_;
    double total = static_cast<double>(ctx.db_size.load());
    double in_use = total;
    // RocksDB's size properties are thread-safe reads.
    if (auto size = ctx.backend->size(); size.ok()) {
      total = static_cast<double>(size->total_bytes);
      in_use = static_cast<double>(size->in_use_bytes);
    }
    std::vector<prometheus::MetricFamily> out;
    out.push_back(gauge("revkv_current_revision", "Newest revision taken by a write.",
                        static_cast<double>(ctx.last_revision.load())));
    out.push_back(gauge("revkv_commit_watermark",
                        "Every revision at or below it is durable; reads are served at it.",
                        static_cast<double>(ctx.watermark.load())));
    out.push_back(gauge("revkv_compact_revision",
                        "The revision of the last scheduled compaction (-1: none); history "
                        "below it is gone.",
                        static_cast<double>(ctx.compact_revision.load())));
    out.push_back(gauge("revkv_db_total_size_bytes",
                        "Size of the database on disk (SST files and memtables).", total));
    out.push_back(gauge("revkv_db_total_size_in_use_bytes",
                        "Estimated live data of the database (what a defragment would keep).",
                        in_use));
    out.push_back(
        gauge("revkv_quota_backend_bytes", "The space quota (0: none); writes are refused past it.",
              static_cast<double>(std::max<int64_t>(ctx.options.quota_backend_bytes, 0))));
    prometheus::MetricFamily alarms{"revkv_alarms",
                                    "Alarms raised (1) or not (0), by alarm.",
                                    prometheus::MetricType::Gauge,
                                    {}};
    prometheus::ClientMetric nospace;
    nospace.label.push_back({"alarm", "NOSPACE"});
    nospace.gauge.value = ctx.nospace_alarm.load() ? 1 : 0;
    alarms.metric.push_back(std::move(nospace));
    out.push_back(std::move(alarms));
    out.push_back(gauge("revkv_leases", "Leases held.", static_cast<double>(ctx.leases.size())));
    prometheus::MetricFamily keys{"revkv_index_keys",
                                  "Keys held in the shard's in-memory index (tombstoned ones too, "
                                  "until compacted).",
                                  prometheus::MetricType::Gauge,
                                  {}};
    prometheus::MetricFamily revisions{"revkv_index_revisions",
                                       "Revisions held in the shard's in-memory index.",
                                       prometheus::MetricType::Gauge,
                                       {}};
    for (size_t i = 0; i < ctx.index_counts.size(); ++i) {
      prometheus::ClientMetric k;
      k.label.push_back({"shard", std::to_string(i)});
      k.gauge.value = static_cast<double>(ctx.index_counts[i].keys.load());
      keys.metric.push_back(k);
      prometheus::ClientMetric r;
      r.label.push_back({"shard", std::to_string(i)});
      r.gauge.value = static_cast<double>(ctx.index_counts[i].revisions.load());
      revisions.metric.push_back(r);
    }
    out.push_back(std::move(keys));
    out.push_back(std::move(revisions));
    return out;
  }

 private:
  actors::NodeContextPtr ctx_;
};

}  // namespace

std::shared_ptr<prometheus::Collectable> make_state_collector(actors::NodeContextPtr ctx) {
  return std::make_shared<StateCollector>(std::move(ctx));
}

}  // namespace revkv::metrics
