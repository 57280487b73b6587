#include "metrics/node_metrics.hpp"

namespace revkv::metrics {

namespace {

using prometheus::Histogram;

// Request latency: 100 µs .. 10 s, like etcd's grpc_server_handling_seconds buckets.
// kSlowRequestSeconds is one of the bounds: etcd_server_slow_apply_total counts the
// requests above it.
Histogram::BucketBoundaries latency_buckets() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, kSlowRequestSeconds,
          0.25,   0.5,     1,      2.5,   5,      10};
}

// etcd_disk_wal_fsync_duration_seconds: 1 ms .. 8 s, doubling.
Histogram::BucketBoundaries fsync_buckets() {
  Histogram::BucketBoundaries b;
  for (double v = 0.001; v <= 8.5; v *= 2)
    b.push_back(v);
  return b;
}

Histogram::BucketBoundaries batch_size_buckets() {
  return {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024};
}

// Compaction batches and runs: 1 ms .. ~65 s, doubling (etcd's compaction pause
// histogram is 1 ms .. 4 s).
Histogram::BucketBoundaries compaction_buckets() {
  Histogram::BucketBoundaries b;
  for (double v = 0.001; v <= 66; v *= 2)
    b.push_back(v);
  return b;
}

}  // namespace

std::string_view code_name(int64_t code) {
  static constexpr std::array<std::string_view, 17> names = {
      "OK",       "Canceled",       "Unknown",          "InvalidArgument",   "DeadlineExceeded",
      "NotFound", "AlreadyExists",  "PermissionDenied", "ResourceExhausted", "FailedPrecondition",
      "Aborted",  "OutOfRange",     "Unimplemented",    "Internal",          "Unavailable",
      "DataLoss", "Unauthenticated"};
  if (code < 0 || code >= static_cast<int64_t>(names.size())) return "Unknown";
  return names[static_cast<size_t>(code)];
}

NodeMetrics::NodeMetrics(const std::string& version)
    : registry_(std::make_shared<prometheus::Registry>()) {
  auto& r = *registry_;
  requests_ = &prometheus::BuildCounter()
                   .Name("revkv_requests_total")
                   .Help("Requests answered, by method and result code (gRPC status name).")
                   .Register(r);
  auto& latency = prometheus::BuildHistogram()
                      .Name("revkv_request_duration_seconds")
                      .Help("Time from a request's decoding to its reply, by method.")
                      .Register(r);
  for (size_t i = 0; i < protocol::kMethodCount; ++i) {
    std::string name(protocol::method_name(static_cast<protocol::Method>(i)));
    methods_[i].ok = &requests_->Add({{"method", name}, {"code", "OK"}});
    methods_[i].latency = &latency.Add({{"method", name}}, latency_buckets());
  }
  connections_accepted_ = &prometheus::BuildCounter()
                               .Name("revkv_connections_accepted_total")
                               .Help("Client connections accepted.")
                               .Register(r)
                               .Add({});
  connections_open_ = &prometheus::BuildGauge()
                           .Name("revkv_connections_open")
                           .Help("Client connections open now.")
                           .Register(r)
                           .Add({});
  bytes_in_ = &prometheus::BuildCounter()
                   .Name("revkv_network_received_bytes_total")
                   .Help("Bytes received from clients.")
                   .Register(r)
                   .Add({});
  bytes_out_ = &prometheus::BuildCounter()
                    .Name("revkv_network_sent_bytes_total")
                    .Help("Bytes sent to clients.")
                    .Register(r)
                    .Add({});
  batch_size_ = &prometheus::BuildHistogram()
                     .Name("revkv_backend_commit_batch_revisions")
                     .Help("Revisions made durable together by one group commit.")
                     .Register(r)
                     .Add({}, batch_size_buckets());
  fsync_duration_ = &prometheus::BuildHistogram()
                         .Name("revkv_disk_wal_fsync_duration_seconds")
                         .Help("Duration of the WAL syncs of the group commit.")
                         .Register(r)
                         .Add({}, fsync_buckets());
  backend_commit_ = &prometheus::BuildHistogram()
                         .Name("revkv_backend_commit_duration_seconds")
                         .Help("Duration of the group commits' writes to RocksDB.")
                         .Register(r)
                         .Add({}, fsync_buckets());
  auto& operations = prometheus::BuildCounter()
                         .Name("revkv_kv_operations_total")
                         .Help(
                             "Range, Put and DeleteRange operations run, inside transactions "
                             "too, by operation.")
                         .Register(r);
  ranges_ = &operations.Add({{"operation", "range"}});
  puts_ = &operations.Add({{"operation", "put"}});
  deletes_ = &operations.Add({{"operation", "delete_range"}});
  multi_operation_txns_ = &prometheus::BuildCounter()
                               .Name("revkv_multi_operation_txns_total")
                               .Help("Transactions that ran more than one operation.")
                               .Register(r)
                               .Add({});
  range_counts_carried_ =
      &prometheus::BuildCounter()
           .Name("revkv_range_counts_carried_total")
           .Help(
               "Range pages whose count the previous page of the same LIST carried, instead "
               "of a walk over the rest of the range.")
           .Register(r)
           .Add({});
  range_shares_short_ =
      &prometheus::BuildCounter()
           .Name("revkv_range_shares_short_total")
           .Help(
               "Range pages over several shards where a shard's share fell short of the page "
               "and that shard was asked for the rest.")
           .Register(r)
           .Add({});
  compaction_pause_ = &prometheus::BuildHistogram()
                           .Name("revkv_compaction_pause_duration_seconds")
                           .Help("Duration of one batch of a physical compaction.")
                           .Register(r)
                           .Add({}, compaction_buckets());
  compaction_duration_ = &prometheus::BuildHistogram()
                              .Name("revkv_compaction_duration_seconds")
                              .Help("Duration of a whole compaction, from its start to its end.")
                              .Register(r)
                              .Add({}, compaction_buckets());
  compactions_ = &prometheus::BuildCounter()
                      .Name("revkv_compactions_total")
                      .Help("Compactions finished.")
                      .Register(r)
                      .Add({});
  compaction_removed_ = &prometheus::BuildCounter()
                             .Name("revkv_compaction_removed_records_total")
                             .Help("Revision records removed by compactions.")
                             .Register(r)
                             .Add({});
  prometheus::BuildGauge()
      .Name("revkv_build_info")
      .Help("Always 1; the version of the node is its label.")
      .Register(r)
      .Add({{"version", version}})
      .Set(1);
}

void NodeMetrics::request_done(protocol::Method method, int64_t code, double seconds) {
  auto& m = methods_[static_cast<size_t>(method)];
  m.latency->Observe(seconds);
  if (code == 0) {
    m.ok->Increment();
  } else {
    // Errors are the rare path: Family::Add looks the child up under the family's lock.
    requests_
        ->Add({{"method", std::string(protocol::method_name(method))},
               {"code", std::string(code_name(code))}})
        .Increment();
  }
}

void NodeMetrics::kv_operations(int64_t ranges, int64_t puts, int64_t deletes, bool txn) {
  if (ranges > 0) ranges_->Increment(static_cast<double>(ranges));
  if (puts > 0) puts_->Increment(static_cast<double>(puts));
  if (deletes > 0) deletes_->Increment(static_cast<double>(deletes));
  if (txn && ranges + puts + deletes > 1) multi_operation_txns_->Increment();
}

}  // namespace revkv::metrics
