#pragma once

// etcd's metric names beside revkv's, so that the community's etcd dashboards and alert
// rules work against revkvd. Each etcd family is derived, at the same scrape, from the
// revkv family with the same meaning (docs/METRICS.md lists the pairs): a copy under the
// etcd name, the shard label summed away where etcd has one series, seconds turned into
// milliseconds where etcd counts those. One state, two names; never a second count.

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

namespace revkv::metrics {

// The etcd families derivable from `families` (those whose revkv source is present).
std::vector<prometheus::MetricFamily> etcd_families(
    const std::vector<prometheus::MetricFamily>& families);

// Collects its sources once per scrape and returns their families followed by the etcd
// names derived from them, and etcd_server_id once the member id is known.
class WithEtcdNames : public prometheus::Collectable {
 public:
  // Held weakly, as the listener holds collectables: an expired one is skipped.
  void add(std::weak_ptr<prometheus::Collectable> source);
  // The node's member id (known once the node has opened its data directory).
  void set_member_id(uint64_t member_id);
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  mutable std::mutex mutex_;
  std::optional<uint64_t> member_id_;                            // guarded by mutex_
  std::vector<std::weak_ptr<prometheus::Collectable>> sources_;  // guarded by mutex_
};

}  // namespace revkv::metrics
