#include "apps/revkv-bench/report_json.hpp"

#include <cmath>

namespace revkv::bench {
namespace {

using util::json::Json;

// One decimal, as the text report prints: the JSON carries no false precision.
double tenths(double v) {
  return std::round(v * 10) / 10;
}

double micros(uint64_t nanos) {
  return tenths(static_cast<double>(nanos) / 1000.0);
}

double per_second(double count, double seconds) {
  return seconds > 0 ? tenths(count / seconds) : 0.0;
}

Json stats(const Histogram& h, uint64_t errors, double elapsed_s) {
  Json out = Json::object();
  out["count"] = h.count();
  out["errors"] = errors;
  out["ops_per_sec"] = per_second(static_cast<double>(h.count()), elapsed_s);
  out["mean_us"] = tenths(h.mean() / 1000.0);
  out["p50_us"] = micros(h.percentile(0.5));
  out["p99_us"] = micros(h.percentile(0.99));
  out["p999_us"] = micros(h.percentile(0.999));
  out["max_us"] = micros(h.max());
  return out;
}

}  // namespace

Json report_json(const Report& r, const Options& o) {
  Json out = Json::object();
  if (o.use_grpc()) {
    out["door"] = "grpc";
    out["endpoint"] = o.grpc;
    out["clients"] = o.clients;
    out["conns"] = o.conns;
    out["grpc_threads"] = r.grpc_threads;
  } else {
    out["door"] = "msgpack";
    out["endpoint"] = o.endpoint;
    out["connections"] = o.connections;
    out["inflight"] = o.inflight;
  }
  out["duration_s"] = std::round(r.elapsed_s * 1000) / 1000;
  out["keys"] = o.keys;
  out["value_size"] = o.value_size;
  out["range_size"] = o.range_size;
  Json ops = Json::object();
  Histogram all;
  uint64_t errors = 0;
  for (std::size_t i = 0; i < kOpCount; ++i) {
    if (o.mix[i] == 0) continue;
    ops[kOpNames[i]] = stats(r.ops[i].latency, r.ops[i].errors, r.elapsed_s);
    all.merge(r.ops[i].latency);
    errors += r.ops[i].errors;
  }
  out["ops"] = std::move(ops);
  out["total"] = stats(all, errors, r.elapsed_s);
  if (o.mix[static_cast<std::size_t>(Op::list)] > 0) {
    Json lists = Json::object();
    lists["complete"] = r.lists.complete;
    lists["per_sec"] = per_second(static_cast<double>(r.lists.complete), r.elapsed_s);
    lists["keys"] = r.lists.keys;
    lists["mismatched"] = r.lists.mismatched;
    out["lists"] = std::move(lists);
  }
  if (o.stall_ms > 0) {
    const auto summary = summarize_stalls(r.slow, o.connections, kStallWindowMs);
    Json stalls = Json::object();
    stalls["slow_ms"] = o.stall_ms;
    stalls["slow_requests"] = summary.slow;
    stalls["window_ms"] = static_cast<int>(kStallWindowMs);
    stalls["windows"] = summary.windows;
    out["stalls"] = std::move(stalls);
  }
  out["failed_connections"] = r.failed_connections;
  out["first_error"] = r.first_error;
  return out;
}

Json watch_report_json(const WatchReport& r, const Options& o) {
  Json watch = Json::object();
  watch["watchers"] = o.watchers;
  watch["streams"] = o.watch_streams;
  watch["events"] = r.events;
  watch["elapsed_s"] = std::round(r.elapsed_s * 1000) / 1000;
  watch["events_per_sec"] = per_second(static_cast<double>(r.events), r.elapsed_s);
  watch["delivery_p50_us"] = micros(r.delivery.percentile(0.5));
  watch["delivery_p99_us"] = micros(r.delivery.percentile(0.99));
  watch["delivery_max_us"] = micros(r.delivery.max());
  if (r.counted) {
    watch["expected"] = r.expected;
    watch["out_of_order"] = r.out_of_order;
  }
  watch["failed_streams"] = r.failed_streams;
  Json out = Json::object();
  out["writes"] = report_json(r.writes, o);
  out["watch"] = std::move(watch);
  return out;
}

Json preload_json(const PreloadResult& p) {
  Json out = Json::object();
  out["keys"] = p.keys;
  out["seconds"] = std::round(p.seconds * 1000) / 1000;
  out["puts_per_sec"] = per_second(static_cast<double>(p.keys), p.seconds);
  return out;
}

}  // namespace revkv::bench
