// etcd's names derived from revkv's families, on families made here: the label a name
// selects, the slow requests counted from the latency histogram, and no family where the
// source cannot give a true count.

#include "metrics/etcd_names.hpp"

#include "metrics/node_metrics.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <string>

using namespace revkv;
using prometheus::MetricFamily;

namespace {

const MetricFamily* family(const std::vector<MetricFamily>& all, const std::string& name) {
  auto it = std::find_if(all.begin(), all.end(), [&](const auto& f) { return f.name == name; });
  return it == all.end() ? nullptr : &*it;
}

}  // namespace

TEST_CASE("etcd names: slow applies are the KV requests above 100 ms, other methods left out",
          "[monitoring][etcd-names]") {
  metrics::NodeMetrics m("test");
  for (int i = 0; i < 3; ++i)
    m.request_done(protocol::Method::kv_put, 0, 0.5);
  m.request_done(protocol::Method::kv_put, 0, 0.01);
  m.request_done(protocol::Method::kv_range, 0, metrics::kSlowRequestSeconds);  // not above
  m.request_done(protocol::Method::kv_txn, 3, 2.0);  // an error answer, slow all the same
  m.request_done(protocol::Method::lease_grant, 0, 5.0);
  m.request_done(protocol::Method::maintenance_status, 0, 5.0);
  auto etcd = metrics::etcd_families(m.registry()->Collect());
  const auto* slow = family(etcd, "etcd_server_slow_apply_total");
  REQUIRE(slow != nullptr);
  CHECK(slow->type == prometheus::MetricType::Counter);
  REQUIRE(slow->metric.size() == 1);
  CHECK(slow->metric[0].label.empty());
  CHECK(slow->metric[0].counter.value == 4);
}

TEST_CASE("etcd names: each operation counter is the one series of its label, label dropped",
          "[monitoring][etcd-names]") {
  metrics::NodeMetrics m("test");
  m.kv_operations(2, 3, 1, true);
  m.kv_operations(1, 0, 0, false);
  m.kv_operations(0, 1, 0, true);  // a transaction of one operation is not counted as one
  auto etcd = metrics::etcd_families(m.registry()->Collect());
  for (const auto& [name, value] :
       std::vector<std::pair<std::string, double>>{{"etcd_mvcc_range_total", 3},
                                                   {"etcd_mvcc_put_total", 4},
                                                   {"etcd_mvcc_delete_total", 1},
                                                   {"etcd_mvcc_txn_total", 1}}) {
    INFO(name);
    const auto* f = family(etcd, name);
    REQUIRE(f != nullptr);
    REQUIRE(f->metric.size() == 1);
    CHECK(f->metric[0].label.empty());
    CHECK(f->metric[0].counter.value == value);
  }
}

TEST_CASE("etcd names: no slow-apply family from a histogram without a 100 ms bucket",
          "[monitoring][etcd-names]") {
  MetricFamily latency{"revkv_request_duration_seconds", "", prometheus::MetricType::Histogram, {}};
  prometheus::ClientMetric put;
  put.label.push_back({"method", "KV.Put"});
  put.histogram.sample_count = 5;
  put.histogram.bucket.push_back({2, 0.05});
  put.histogram.bucket.push_back({5, 1.0});
  latency.metric.push_back(put);
  auto etcd = metrics::etcd_families({latency});
  CHECK(family(etcd, "etcd_server_slow_apply_total") == nullptr);
  // With the bucket there, the count above it.
  latency.metric[0].histogram.bucket.insert(latency.metric[0].histogram.bucket.begin() + 1,
                                            {3, metrics::kSlowRequestSeconds});
  etcd = metrics::etcd_families({latency});
  const auto* slow = family(etcd, "etcd_server_slow_apply_total");
  REQUIRE(slow != nullptr);
  CHECK(slow->metric[0].counter.value == 2);
}
