#pragma once

// The node's counters and histograms, updated on the hot path (sessions, the backend's
// group commit, the maintenance actor). prometheus-cpp's Counter and Histogram are
// thread-safe; the children used per request are created up front, so an update is a
// few atomic adds and no lookup. State (revisions, sizes, counts) is not here: it is
// read at scrape time by the collector of metrics/state_collector.hpp.
// Every family is listed in docs/METRICS.md.

#include "protocol/method.hpp"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <array>
#include <cstdint>
#include <memory>
#include <string>

namespace revkv::metrics {

// etcd's threshold for a slow apply (warnApplyDuration): a bucket bound of the request
// latency histogram, so etcd_server_slow_apply_total is the requests above that bucket.
inline constexpr double kSlowRequestSeconds = 0.1;

// The gRPC status name of a wire error code (0 = "OK"), as the `code` label.
std::string_view code_name(int64_t code);

class NodeMetrics {
 public:
  explicit NodeMetrics(const std::string& version);

  const std::shared_ptr<prometheus::Registry>& registry() const { return registry_; }

  // A request answered: its method, wire result code (0 = OK) and the seconds from its
  // decoding to its reply.
  void request_done(protocol::Method method, int64_t code, double seconds);

  void connection_opened() {
    connections_accepted_->Increment();
    connections_open_->Increment();
  }
  void connection_closed() { connections_open_->Decrement(); }
  void bytes_received(uint64_t n) { bytes_in_->Increment(static_cast<double>(n)); }
  void bytes_sent(uint64_t n) { bytes_out_->Increment(static_cast<double>(n)); }

  // One group commit made durable: the revisions it covered and the fsync it took.
  void commit_batch(int64_t revisions) { batch_size_->Observe(static_cast<double>(revisions)); }
  void wal_fsync(double seconds) { fsync_duration_->Observe(seconds); }
  // One group's write to RocksDB (its WAL sync included when it carries one).
  void backend_commit(double seconds) { backend_commit_->Observe(seconds); }

  // The storage operations one answered KV request ran: every Range, Put and DeleteRange
  // (inside a transaction too, in the branch it took), and the transaction itself when it
  // ran more than one of them. Close to etcd's mvcc counters, not equal: etcd also counts
  // the reads it makes for compares, prev_kv and ignore_* (docs/METRICS.md).
  void kv_operations(int64_t ranges, int64_t puts, int64_t deletes, bool txn);

  // A range page whose count the previous page of its LIST carried (no walk over the rest of
  // the range, actors/range_count_cache.hpp).
  void range_count_carried() { range_counts_carried_->Increment(); }
  // A range page over several shards where a shard's share fell short of the page, and
  // that shard was asked for the rest of its part (actors/page_shares.hpp).
  void range_shares_short() { range_shares_short_->Increment(); }

  // One batch of a physical compaction (the time the maintenance actor held the backend).
  void compaction_batch(double seconds) { compaction_pause_->Observe(seconds); }
  // A compaction finished: its whole duration and the records it removed.
  void compaction_finished(double seconds, int64_t removed) {
    compactions_->Increment();
    compaction_duration_->Observe(seconds);
    compaction_removed_->Increment(static_cast<double>(removed));
  }

 private:
  struct PerMethod {
    prometheus::Counter* ok = nullptr;
    prometheus::Histogram* latency = nullptr;
  };

  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>* requests_ = nullptr;
  std::array<PerMethod, protocol::kMethodCount> methods_{};
  prometheus::Counter* connections_accepted_ = nullptr;
  prometheus::Gauge* connections_open_ = nullptr;
  prometheus::Counter* bytes_in_ = nullptr;
  prometheus::Counter* bytes_out_ = nullptr;
  prometheus::Histogram* batch_size_ = nullptr;
  prometheus::Histogram* fsync_duration_ = nullptr;
  prometheus::Histogram* backend_commit_ = nullptr;
  prometheus::Counter* ranges_ = nullptr;
  prometheus::Counter* puts_ = nullptr;
  prometheus::Counter* deletes_ = nullptr;
  prometheus::Counter* multi_operation_txns_ = nullptr;
  prometheus::Counter* range_counts_carried_ = nullptr;
  prometheus::Counter* range_shares_short_ = nullptr;
  prometheus::Histogram* compaction_pause_ = nullptr;
  prometheus::Histogram* compaction_duration_ = nullptr;
  prometheus::Counter* compactions_ = nullptr;
  prometheus::Counter* compaction_removed_ = nullptr;
};

using NodeMetricsPtr = std::shared_ptr<NodeMetrics>;

}  // namespace revkv::metrics
