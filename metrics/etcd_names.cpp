#include "metrics/etcd_names.hpp"

#include "metrics/node_metrics.hpp"

#include <algorithm>
#include <cstdio>
#include <limits>
#include <string_view>

namespace revkv::metrics {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

// How an etcd family is made from a revkv one.
enum class Derive {
  copy,          // the same series under the etcd name
  sum,           // every series added into one, without labels (per-shard gauges)
  milliseconds,  // a histogram of seconds as one of milliseconds
  version,       // revkv_build_info{version} as etcd_server_version{server_version}
  slow,          // requests of a latency histogram slower than 100 ms, summed into a counter
};

struct EtcdName {
  std::string_view revkv;
  std::string_view etcd;
  Derive derive;
  std::string_view help;
  // Only the series whose label `label` starts with `value`, without that label ("": all).
  std::string_view label = {};
  std::string_view value = {};
};

// docs/METRICS.md "etcd's names" lists the same pairs with what each means here.
constexpr EtcdName kNames[] = {
    {"revkv_current_revision", "etcd_debugging_mvcc_current_revision", Derive::copy,
     "The current revision of store."},
    {"revkv_compact_revision", "etcd_debugging_mvcc_compact_revision", Derive::copy,
     "The revision of the last compaction in store."},
    {"revkv_db_total_size_bytes", "etcd_mvcc_db_total_size_in_bytes", Derive::copy,
     "Total size of the underlying database physically allocated in bytes."},
    {"revkv_db_total_size_bytes", "etcd_debugging_mvcc_db_total_size_in_bytes", Derive::copy,
     "Total size of the underlying database physically allocated in bytes."},
    {"revkv_db_total_size_in_use_bytes", "etcd_mvcc_db_total_size_in_use_in_bytes", Derive::copy,
     "Total size of the underlying database logically in use in bytes."},
    {"revkv_quota_backend_bytes", "etcd_server_quota_backend_bytes", Derive::copy,
     "Current backend storage quota size in bytes."},
    {"revkv_disk_wal_fsync_duration_seconds", "etcd_disk_wal_fsync_duration_seconds", Derive::copy,
     "The latency distributions of fsync called by WAL."},
    {"revkv_backend_commit_duration_seconds", "etcd_disk_backend_commit_duration_seconds",
     Derive::copy, "The latency distributions of commit called by backend."},
    {"revkv_kv_operations_total", "etcd_mvcc_range_total", Derive::copy,
     "Total number of ranges seen by this member.", "operation", "range"},
    {"revkv_kv_operations_total", "etcd_mvcc_put_total", Derive::copy,
     "Total number of puts seen by this member.", "operation", "put"},
    {"revkv_kv_operations_total", "etcd_mvcc_delete_total", Derive::copy,
     "Total number of deletes seen by this member.", "operation", "delete_range"},
    {"revkv_multi_operation_txns_total", "etcd_mvcc_txn_total", Derive::copy,
     "Total number of txns seen by this member."},
    {"revkv_lease_granted_total", "etcd_debugging_lease_granted_total", Derive::copy,
     "The total number of granted leases."},
    {"revkv_lease_revoked_total", "etcd_debugging_lease_revoked_total", Derive::copy,
     "The total number of revoked leases."},
    {"revkv_lease_renewed_total", "etcd_debugging_lease_renewed_total", Derive::copy,
     "The number of renewed leases seen by the leader."},
    {"revkv_request_duration_seconds", "etcd_server_slow_apply_total", Derive::slow,
     "The total number of slow apply requests (likely overloaded from slow disk).", "method",
     "KV."},
    {"revkv_index_keys", "etcd_debugging_mvcc_keys_total", Derive::sum, "Total number of keys."},
    {"revkv_watchers", "etcd_debugging_mvcc_watcher_total", Derive::copy,
     "Total number of watchers."},
    {"revkv_slow_watchers", "etcd_debugging_mvcc_slow_watcher_total", Derive::copy,
     "Total number of unsynced slow watchers."},
    {"revkv_watch_events_sent_total", "etcd_debugging_mvcc_events_total", Derive::copy,
     "Total number of events sent by this member."},
    {"revkv_compaction_removed_records_total", "etcd_debugging_mvcc_db_compaction_keys_total",
     Derive::copy, "Total number of db keys compacted."},
    {"revkv_compaction_duration_seconds",
     "etcd_debugging_mvcc_db_compaction_total_duration_milliseconds", Derive::milliseconds,
     "Bucketed histogram of db compaction total duration."},
    {"revkv_compaction_pause_duration_seconds",
     "etcd_debugging_mvcc_db_compaction_pause_duration_milliseconds", Derive::milliseconds,
     "Bucketed histogram of db compaction pause duration."},
    {"revkv_build_info", "etcd_server_version", Derive::version,
     "Which version is running. 1 for 'server_version' label with current version."},
};

// The sum of every series of a gauge or counter family.
ClientMetric summed(const MetricFamily& source) {
  ClientMetric out;
  for (const auto& m : source.metric) {
    out.gauge.value += m.gauge.value;
    out.counter.value += m.counter.value;
  }
  return out;
}

// The series of `source` that `name` selects by label, without that label.
std::vector<ClientMetric> selected(const MetricFamily& source, const EtcdName& name) {
  if (name.label.empty()) return source.metric;
  std::vector<ClientMetric> out;
  for (const auto& m : source.metric) {
    auto label = std::find_if(m.label.begin(), m.label.end(),
                              [&](const ClientMetric::Label& l) { return l.name == name.label; });
    if (label == m.label.end() || !label->value.starts_with(name.value)) continue;
    out.push_back(m);
    std::erase_if(out.back().label,
                  [&](const ClientMetric::Label& l) { return l.name == name.label; });
  }
  return out;
}

// How many observations of the histograms lie above `bound`; nothing when a histogram
// has no bucket bounded there (its count above the bound is unknown: no family then,
// rather than a wrong count).
std::optional<ClientMetric> slower_than(const std::vector<ClientMetric>& histograms, double bound) {
  ClientMetric out;
  for (const auto& m : histograms) {
    auto bucket =
        std::find_if(m.histogram.bucket.begin(), m.histogram.bucket.end(),
                     [&](const ClientMetric::Bucket& b) { return b.upper_bound == bound; });
    if (bucket == m.histogram.bucket.end()) return std::nullopt;
    out.counter.value += static_cast<double>(m.histogram.sample_count - bucket->cumulative_count);
  }
  return out;
}

MetricFamily derive(const MetricFamily& source, const EtcdName& name) {
  MetricFamily out{std::string(name.etcd), std::string(name.help), source.type, {}};
  switch (name.derive) {
    case Derive::copy:
      out.metric = selected(source, name);
      break;
    case Derive::sum:
      out.metric.push_back(summed(source));
      break;
    case Derive::slow:
      out.type = MetricType::Counter;
      if (auto slow = slower_than(selected(source, name), kSlowRequestSeconds))
        out.metric.push_back(std::move(*slow));
      break;
    case Derive::milliseconds:
      out.metric = source.metric;
      for (auto& m : out.metric) {
        m.histogram.sample_sum *= 1000;
        for (auto& bucket : m.histogram.bucket)
          if (bucket.upper_bound != std::numeric_limits<double>::infinity())
            bucket.upper_bound *= 1000;
      }
      break;
    case Derive::version:
      out.metric = source.metric;
      for (auto& m : out.metric)
        for (auto& label : m.label)
          if (label.name == "version") label.name = "server_version";
      break;
  }
  return out;
}

}  // namespace

std::vector<MetricFamily> etcd_families(const std::vector<MetricFamily>& families) {
  std::vector<MetricFamily> out;
  for (const auto& name : kNames) {
    auto source = std::find_if(families.begin(), families.end(),
                               [&](const MetricFamily& f) { return f.name == name.revkv; });
    if (source == families.end()) continue;
    auto derived = derive(*source, name);
    if (!derived.metric.empty()) out.push_back(std::move(derived));
  }
  return out;
}

void WithEtcdNames::add(std::weak_ptr<prometheus::Collectable> source) {
  std::lock_guard lock(mutex_);
  sources_.push_back(std::move(source));
}

void WithEtcdNames::set_member_id(uint64_t member_id) {
  std::lock_guard lock(mutex_);
  member_id_ = member_id;
}

std::vector<MetricFamily> WithEtcdNames::Collect() const {
  std::vector<std::weak_ptr<prometheus::Collectable>> sources;
  std::optional<uint64_t> member_id;
  {
    std::lock_guard lock(mutex_);
    sources = sources_;
    member_id = member_id_;
  }
  std::vector<MetricFamily> families;
  for (const auto& weak : sources) {
    if (auto c = weak.lock()) {
      auto part = c->Collect();
      families.insert(families.end(), std::make_move_iterator(part.begin()),
                      std::make_move_iterator(part.end()));
    }
  }
  auto etcd = etcd_families(families);
  if (member_id) {
    // etcd_server_id{server_id="<member id in hex>"} 1, as etcd exports its member id.
    MetricFamily id{"etcd_server_id",
                    "Server or member ID in hexadecimal format. 1 for 'server_id' label with "
                    "current ID.",
                    MetricType::Gauge,
                    {}};
    char hex[17];
    std::snprintf(hex, sizeof hex, "%llx", static_cast<unsigned long long>(*member_id));
    ClientMetric m;
    m.label.push_back({"server_id", hex});
    m.gauge.value = 1;
    id.metric.push_back(std::move(m));
    etcd.push_back(std::move(id));
  }
  families.insert(families.end(), std::make_move_iterator(etcd.begin()),
                  std::make_move_iterator(etcd.end()));
  return families;
}

}  // namespace revkv::metrics
