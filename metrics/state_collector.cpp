#include "metrics/state_collector.hpp"

#include <prometheus/metric_family.h>

#include <atomic>
#include <cstdio>
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

prometheus::MetricFamily counter(const char* name, const char* help, double value) {
  prometheus::MetricFamily f{name, help, prometheus::MetricType::Counter, {}};
  prometheus::ClientMetric m;
  m.counter.value = value;
  f.metric.push_back(std::move(m));
  return f;
}

double relaxed(const std::atomic<int64_t>& v) {
  return static_cast<double>(v.load(std::memory_order_relaxed));
}

// etcd's histogram of peer round trips, labelled To = the peer's id in hex as etcd writes it.
prometheus::MetricFamily round_trips(const actors::ClusterLink& link) {
  prometheus::MetricFamily f{"etcd_network_peer_round_trip_time_seconds",
                             "Round-Trip-Time histogram between peers",
                             prometheus::MetricType::Histogram,
                             {}};
  for (const auto& [peer, h] : link.peer_round_trips.snapshot()) {
    prometheus::ClientMetric m;
    char id[17];
    std::snprintf(id, sizeof id, "%llx", static_cast<unsigned long long>(peer));
    m.label.push_back({"To", id});
    m.histogram.sample_count = h.count;
    m.histogram.sample_sum = h.sum;
    for (size_t i = 0; i < actors::PeerRoundTrips::kBuckets; ++i)
      m.histogram.bucket.push_back({h.cumulative[i], actors::PeerRoundTrips::bound(i)});
    f.metric.push_back(std::move(m));
  }
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
    if (const auto* link = ctx.cluster.get()) {
      // Cluster mode: etcd's own names, which etcd's dashboards and alerts use.
      out.push_back(gauge("etcd_server_has_leader",
                          "Whether or not a leader exists. 1 is existence, 0 is not.",
                          link->has_leader() ? 1 : 0));
      out.push_back(gauge("etcd_server_is_leader",
                          "Whether or not this member is a leader. 1 if is, 0 otherwise.",
                          link->leader.load() ? 1 : 0));
      out.push_back(counter("etcd_server_leader_changes_seen_total",
                            "The number of leader changes seen.", relaxed(link->leader_changes)));
      out.push_back(counter("etcd_server_proposals_committed_total",
                            "The total number of consensus proposals committed.",
                            relaxed(link->proposals_committed)));
      out.push_back(counter("etcd_server_proposals_applied_total",
                            "The total number of consensus proposals applied.",
                            relaxed(link->proposals_applied)));
      out.push_back(gauge("etcd_server_proposals_pending",
                          "The current number of pending proposals to commit.",
                          relaxed(link->proposals_pending)));
      out.push_back(counter("etcd_server_proposals_failed_total",
                            "The total number of failed proposals seen.",
                            relaxed(link->proposals_failed)));
      out.push_back(counter("revkv_cluster_forwarded_requests_total",
                            "Requests this member forwarded to the leader (it does not lead).",
                            relaxed(link->forwarded)));
      out.push_back(counter("revkv_cluster_forward_failures_total",
                            "Forwarded requests answered Unavailable because the leader could "
                            "not be reached or did not answer in time.",
                            relaxed(link->forward_failures)));
      out.push_back(counter("revkv_cluster_forwarded_apply_timeouts_total",
                            "Forwarded requests answered before this member applied what the "
                            "leader's answer shows, because it lagged longer than the wait.",
                            relaxed(link->forwarded_apply_timeouts)));
    } else {
      // A single node is its own leader, as a one-member etcd reports itself: dashboards'
      // "up" panels and the no-leader alert read these.
      out.push_back(gauge("etcd_server_has_leader",
                          "Whether or not a leader exists. 1 is existence, 0 is not.", 1));
      out.push_back(gauge("etcd_server_is_leader",
                          "Whether or not this member is a leader. 1 if is, 0 otherwise.", 1));
    }
    // Only once a probe answered (an empty family is no use to anyone).
    if (const auto* link = ctx.cluster.get(); link != nullptr) {
      auto rtt = round_trips(*link);
      if (!rtt.metric.empty()) out.push_back(std::move(rtt));
    }
    out.push_back(gauge("revkv_current_revision", "Newest revision taken by a write.",
                        static_cast<double>(ctx.last_revision.load())));
    out.push_back(gauge("revkv_commit_watermark",
                        "Every revision at or below it is durable; reads are served at it.",
                        static_cast<double>(ctx.watermark.load())));
    out.push_back(gauge("revkv_compact_revision",
                        "The revision of the last scheduled compaction (-1: none); history "
                        "below it is gone from the index at once.",
                        static_cast<double>(ctx.compact_revision.load())));
    out.push_back(gauge("revkv_compact_finished_revision",
                        "The revision of the last compaction whose physical removal finished "
                        "(-1: none); lags revkv_compact_revision while one runs.",
                        static_cast<double>(ctx.finished_compact_revision.load())));
    out.push_back(gauge("revkv_db_total_size_bytes",
                        "Size of the database on disk (SST files and memtables).", total));
    out.push_back(gauge("revkv_db_total_size_in_use_bytes",
                        "Estimated live data of the database (what a defragment would keep).",
                        in_use));
    out.push_back(
        gauge("revkv_quota_backend_bytes", "The space quota (0: none); writes are refused past it.",
              static_cast<double>(std::max<int64_t>(ctx.options.quota_backend_bytes, 0))));
    prometheus::MetricFamily flushes{"revkv_backend_latest_flushes_total",
                                     "Flushes of the latest column's memtable that the backend "
                                     "asked for: early, when it was mostly overwritten records, "
                                     "and when the store was idle.",
                                     prometheus::MetricType::Counter,
                                     {}};
    const auto latest = ctx.backend->latest_flushes();
    for (const auto& [reason, value] :
         {std::pair{"overwrites", latest.overwrites}, std::pair{"idle", latest.idle}}) {
      prometheus::ClientMetric m;
      m.label.push_back({"reason", reason});
      m.counter.value = static_cast<double>(value);
      flushes.metric.push_back(std::move(m));
    }
    out.push_back(std::move(flushes));
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
    out.push_back(counter("revkv_lease_expired_total", "Leases revoked because their TTL ran out.",
                          relaxed(ctx.lease_expired_total)));
    out.push_back(
        counter("revkv_lease_granted_total", "Leases granted.", relaxed(ctx.lease_granted_total)));
    out.push_back(counter("revkv_lease_revoked_total",
                          "Leases revoked: by LeaseRevoke and by expiry.",
                          relaxed(ctx.lease_revoked_total)));
    out.push_back(counter("revkv_lease_renewed_total", "Keep-alives that renewed a lease.",
                          relaxed(ctx.lease_renewed_total)));
    out.push_back(gauge("revkv_watchers", "Watchers registered.", relaxed(ctx.watchers)));
    out.push_back(gauge("revkv_slow_watchers",
                        "Watchers whose events are held back (their client reads too slowly).",
                        relaxed(ctx.slow_watchers)));
    out.push_back(counter("revkv_watch_events_sent_total", "Events sent to watchers.",
                          relaxed(ctx.watch_events_sent_total)));
    prometheus::MetricFamily mailbox{"revkv_shard_mailbox_depth",
                                     "Messages queued for the shard actor (enqueued, not yet "
                                     "handled).",
                                     prometheus::MetricType::Gauge,
                                     {}};
    for (size_t i = 0; i < ctx.shard_mailbox_depth.size(); ++i) {
      prometheus::ClientMetric m;
      m.label.push_back({"shard", std::to_string(i)});
      m.gauge.value = relaxed(ctx.shard_mailbox_depth[i]);
      mailbox.metric.push_back(std::move(m));
    }
    out.push_back(std::move(mailbox));
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
