#include "apps/revkv-bench/watch_bench.hpp"

#include "apps/revkv-bench/report_json.hpp"
#include "apps/revkv-bench/workload.hpp"
#include "client/client.hpp"
#include "protocol/codec.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <thread>

namespace revkv::bench {
namespace {

using Clock = std::chrono::steady_clock;

struct StreamResult {
  Histogram delivery;
  uint64_t events = 0;
  std::string error;
};

void run_stream(const Options& o, int index, std::atomic<int>& ready,
                const std::atomic<bool>& load_done, StreamResult& out) {
  client::ClientOptions co;
  co.connect_timeout = std::chrono::seconds(5);
  co.request_timeout = std::chrono::seconds(60);
  auto conn = client::Client::connect(o.endpoint, co);
  if (!conn) {
    out.error = conn.error().message;
    ++ready;
    return;
  }
  client::Client& c = conn.value();
  c.set_notification_handler([&out](const client::Notification& n) {
    auto w = client::decode_watch_notification(n);
    if (!w.ok()) return;
    auto now = Clock::now().time_since_epoch().count();
    for (const auto& ev : w.value().events) {
      ++out.events;
      if (int64_t sent = stamp_of(ev.kv.value); sent > 0 && now >= sent) {
        out.delivery.record(static_cast<uint64_t>(now - sent));
      }
    }
  });
  for (int j = index; j < o.watchers; j += o.watch_streams) {
    protocol::WatchCreateRequest create;
    create.key = key_of(j % o.keys);
    auto created = c.watch(protocol::WatchRequest{create});
    if (!created || created.value().canceled) {
      out.error = created ? created.value().cancel_reason : created.error().message;
      ++ready;
      return;
    }
  }
  ++ready;
  while (!load_done.load()) {
    if (auto got = c.pump_for(std::chrono::milliseconds(50)); !got) {
      out.error = got.error().message;
      return;
    }
  }
  // Every event of the load is delivered once a progress request is answered.
  for (;;) {
    auto p = c.watch(protocol::WatchRequest{protocol::WatchProgressRequest{}});
    if (!p) {
      out.error = p.error().message;
      return;
    }
    if (p.value().watch_id == -1) return;
    if (auto got = c.pump_for(std::chrono::milliseconds(20)); !got) {
      out.error = got.error().message;
      return;
    }
  }
}

std::string fmt(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

}  // namespace

WatchReport run_watch(const Options& o) {
  WatchReport report;
  std::vector<StreamResult> results(static_cast<std::size_t>(o.watch_streams));
  std::atomic<int> ready{0};
  std::atomic<bool> load_done{false};
  Clock::time_point start;
  {
    std::vector<std::jthread> streams;
    for (int i = 0; i < o.watch_streams; ++i) {
      streams.emplace_back(
          [&, i] { run_stream(o, i, ready, load_done, results[static_cast<std::size_t>(i)]); });
    }
    while (ready.load() < o.watch_streams)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    start = Clock::now();
    report.writes = run(o);
    load_done = true;
  }
  report.elapsed_s = std::chrono::duration<double>(Clock::now() - start).count();
  for (const auto& r : results) {
    report.delivery.merge(r.delivery);
    report.events += r.events;
    if (!r.error.empty()) {
      ++report.failed_streams;
      if (report.first_error.empty()) report.first_error = r.error;
    }
  }
  return report;
}

std::string format_watch_text(const WatchReport& r, const Options& o) {
  std::string out = format_text(r.writes, o);
  const auto& h = r.delivery;
  out += "watch: " + std::to_string(o.watchers) + " watchers on " +
         std::to_string(o.watch_streams) + " streams, " + std::to_string(r.events) + " events in " +
         fmt("%.1f", r.elapsed_s) +
         " s = " + fmt("%.0f", r.elapsed_s > 0 ? static_cast<double>(r.events) / r.elapsed_s : 0) +
         " events/s; delivery p50 " + fmt("%.1f", static_cast<double>(h.percentile(0.5)) / 1e3) +
         " us, p99 " + fmt("%.1f", static_cast<double>(h.percentile(0.99)) / 1e3) + " us, max " +
         fmt("%.1f", static_cast<double>(h.max()) / 1e3) + " us\n";
  if (r.counted) {
    out += "watch: " + std::to_string(r.expected) + " events owed, " + std::to_string(r.events) +
           " delivered, " + std::to_string(r.out_of_order) + " out of order: " +
           (r.events == r.expected && r.out_of_order == 0 ? "all delivered in order" : "MISMATCH") +
           "\n";
  }
  if (r.failed_streams > 0) {
    out +=
        "failed watch streams: " + std::to_string(r.failed_streams) + " (" + r.first_error + ")\n";
  }
  return out;
}

std::string format_watch_json(const WatchReport& r, const Options& o) {
  return util::json::dump(watch_report_json(r, o)) + "\n";
}

}  // namespace revkv::bench
