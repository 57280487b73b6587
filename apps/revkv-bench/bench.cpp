#include "apps/revkv-bench/bench.hpp"

#include "apps/revkv-bench/report_json.hpp"
#include "client/client.hpp"
#include "protocol/codec.hpp"
#include "protocol/method.hpp"

#include <algorithm>
#include <cstdio>
#include <memory>
#include <random>
#include <thread>
#include <unordered_map>

namespace revkv::bench {
namespace {

using Clock = std::chrono::steady_clock;

client::ClientOptions client_options() {
  client::ClientOptions o;
  o.connect_timeout = std::chrono::seconds(5);
  o.request_timeout = std::chrono::seconds(30);  // a stuck node ends the run, not hangs it
  return o;
}

// Encodes the requests of one connection for the MessagePack door.
class Generator {
 public:
  Generator(const Options& o, uint64_t seed) : work_(o, seed) {}

  Op next_op() { return work_.next_op(); }

  // The method name and encoded body of one request of kind `op`; a `list` page is the next
  // page of `list`.
  std::pair<protocol::Method, std::string> request(Op op, const ListCursor* list) {
    const Options& o = work_.options();
    int64_t k = work_.next_key();
    switch (op) {
      case Op::list: {
        storage::RangeRequest r;
        r.key = list->page_start();
        r.range_end = list->page_end();
        r.limit = list->page_limit();
        r.revision = list->page_revision();
        return {protocol::Method::kv_range, protocol::encode_to_string(r)};
      }
      case Op::put:
        return {protocol::Method::kv_put, protocol::encode_to_string(put(k))};
      case Op::get: {
        storage::RangeRequest r;
        r.key = key_of(k);
        return {protocol::Method::kv_range, protocol::encode_to_string(r)};
      }
      case Op::range: {
        storage::RangeRequest r;
        r.key = key_of(k);
        r.range_end = key_of(k + o.range_size);
        r.limit = o.range_size;
        return {protocol::Method::kv_range, protocol::encode_to_string(r)};
      }
      case Op::txn: {
        // Compare-and-set shape: if the key exists overwrite it, else read it.
        storage::TxnRequest t;
        storage::Compare c;
        c.key = key_of(k);
        c.target = static_cast<int32_t>(storage::CompareTarget::version);
        c.result = static_cast<int32_t>(storage::CompareResult::greater);
        c.union_kind = storage::CompareTarget::version;
        t.compare.push_back(c);
        // Assigned, not brace-initialised: GCC 12 warns (falsely) about the Box
        // alternative of a temporary RequestOp's variant.
        t.success.emplace_back().op = put(k);
        storage::RangeRequest get;
        get.key = key_of(k);
        t.failure.emplace_back().op = std::move(get);
        return {protocol::Method::kv_txn, protocol::encode_to_string(t)};
      }
      case Op::grant: {
        protocol::LeaseGrantRequest g;
        g.ttl = 3600;
        g.id = work_.grant_lease();
        return {protocol::Method::lease_grant, protocol::encode_to_string(g)};
      }
      case Op::keepalive: {
        protocol::LeaseKeepAliveRequest ka;
        ka.id = work_.some_lease();
        return {protocol::Method::lease_keep_alive, protocol::encode_to_string(ka)};
      }
    }
    return {protocol::Method::kv_range, ""};
  }

  storage::PutRequest put(int64_t k) const {
    storage::PutRequest p;
    p.key = key_of(k);
    p.value = work_.put_value();
    return p;
  }

 private:
  Workload work_;
};

Report run_connection(const Options& o, int index, Clock::time_point start,
                      Clock::time_point stop) {
  Report report;
  auto conn = client::Client::connect(o.endpoint, client_options());
  if (!conn) {
    report.failed_connections = 1;
    report.first_error = conn.error().message;
    return report;
  }
  client::Client& c = conn.value();
  Generator gen(o, o.seed * 1000003 + static_cast<uint64_t>(index));
  struct Pending {
    Op op;
    Clock::time_point start;
    std::unique_ptr<ListCursor> list;  // the LIST a `list` page belongs to
  };
  std::unordered_map<uint32_t, Pending> inflight;
  const auto stall = std::chrono::milliseconds(o.stall_ms);
  auto record = [&](OpStats& stats, Clock::time_point sent, Clock::time_point answered) {
    stats.latency.record(static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(answered - sent).count()));
    if (o.stall_ms > 0 && answered - sent > stall) {
      report.slow.push_back(
          {std::chrono::duration<double, std::milli>(answered - start).count(), index});
    }
  };
  // A LIST in progress keeps its pipeline slot: its next page is the slot's next request.
  auto issue = [&](std::unique_ptr<ListCursor> list) {
    Op op = Op::list;
    if (!list) {
      op = gen.next_op();
      if (op == Op::list) {
        list = std::make_unique<ListCursor>(o);
        list->start();
      }
    }
    auto [method, body] = gen.request(op, list.get());
    uint32_t id = c.queue(protocol::method_name(method), body);
    inflight.emplace(id, Pending{op, Clock::now(), std::move(list)});
  };
  for (int i = 0; i < o.inflight; ++i)
    issue(nullptr);
  if (auto f = c.flush(); !f) {
    report.failed_connections = 1;
    report.first_error = f.error().message;
    return report;
  }
  while (!inflight.empty()) {
    auto r = c.next_response();
    auto now = Clock::now();
    if (!r) {
      report.failed_connections = 1;
      if (report.first_error.empty()) report.first_error = r.error().message;
      break;
    }
    auto it = inflight.find(r.value().msgid);
    if (it == inflight.end()) continue;
    Pending pending = std::move(it->second);
    inflight.erase(it);
    auto& stats = report.ops[static_cast<std::size_t>(pending.op)];
    std::unique_ptr<ListCursor> next_page;  // the LIST goes on
    auto fail = [&](const std::string& message) {
      ++stats.errors;
      if (report.first_error.empty()) report.first_error = message;
    };
    if (r.value().error) {
      fail(r.value().error->message);
    } else if (pending.list) {
      auto page = protocol::decode_kv_response<storage::RangeResponse>(r.value().result);
      if (!page) {
        fail(page.error().message);
      } else {
        record(stats, pending.start, now);
        for (const auto& kv : page.value().response.kvs)
          pending.list->key(kv.key);
        if (pending.list->end_page(page.value().response.more, page.value().header.revision))
          report.lists.record(*pending.list);
        else
          next_page = std::move(pending.list);
      }
    } else {
      record(stats, pending.start, now);
    }
    if (now < stop) {
      issue(std::move(next_page));
      if (auto f = c.flush(); !f) {
        report.failed_connections = 1;
        if (report.first_error.empty()) report.first_error = f.error().message;
        break;
      }
    }
  }
  return report;
}

std::string fmt(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

double us(uint64_t nanos) {
  return static_cast<double>(nanos) / 1000.0;
}

}  // namespace

void ListStats::record(const ListCursor& cursor) {
  ++complete;
  keys += static_cast<uint64_t>(cursor.keys_seen());
  if (!cursor.matched()) ++mismatched;
}

void Report::merge(const Report& other) {
  for (std::size_t i = 0; i < kOpCount; ++i) {
    ops[i].latency.merge(other.ops[i].latency);
    ops[i].errors += other.ops[i].errors;
  }
  lists.complete += other.lists.complete;
  lists.keys += other.lists.keys;
  lists.mismatched += other.lists.mismatched;
  slow.insert(slow.end(), other.slow.begin(), other.slow.end());
  failed_connections += other.failed_connections;
  if (first_error.empty()) first_error = other.first_error;
}

// Requests a preload keeps outstanding on its one connection (at least).
constexpr int64_t kPreloadInflight = 128;

PreloadResult preload(const Options& o) {
  PreloadResult result;
  auto conn = client::Client::connect(o.endpoint, client_options());
  if (!conn) {
    result.error = conn.error().message;
    return result;
  }
  client::Client& c = conn.value();
  Generator gen(o, o.seed);
  // Pipelined: the node group-commits a connection's outstanding writes together.
  const int64_t depth = std::max<int64_t>(o.inflight, kPreloadInflight);
  int64_t next = 0, outstanding = 0, done = 0;
  auto started = Clock::now();
  auto report_at = started + std::chrono::seconds(1);
  while (next < o.keys || outstanding > 0) {
    if (auto now = Clock::now(); now >= report_at) {
      report_at = now + std::chrono::seconds(1);
      double seconds = std::chrono::duration<double>(now - started).count();
      std::fprintf(stderr, "preload: %lld/%lld keys, %.0f puts/s\n", static_cast<long long>(done),
                   static_cast<long long>(o.keys), static_cast<double>(done) / seconds);
    }
    while (next < o.keys && outstanding < depth) {
      c.queue(protocol::method_name(protocol::Method::kv_put),
              protocol::encode_to_string(gen.put(next++)));
      ++outstanding;
    }
    if (auto f = c.flush(); !f) {
      result.error = f.error().message;
      break;
    }
    auto r = c.next_response();
    if (!r) {
      result.error = r.error().message;
      break;
    }
    if (r.value().error) {
      result.error = r.value().error->message;
      break;
    }
    --outstanding;
    ++done;
  }
  result.keys = done;
  result.seconds = std::chrono::duration<double>(Clock::now() - started).count();
  std::fprintf(stderr, "preload: %lld keys in %.1f s (%.0f puts/s)\n", static_cast<long long>(done),
               result.seconds, static_cast<double>(done) / std::max(result.seconds, 1e-9));
  return result;
}

Report run(const Options& o) {
  std::vector<Report> reports(static_cast<std::size_t>(o.connections));
  auto start = Clock::now();
  auto stop = start + std::chrono::duration_cast<Clock::duration>(
                          std::chrono::duration<double>(o.duration_s));
  {
    std::vector<std::jthread> threads;
    for (int i = 0; i < o.connections; ++i)
      threads.emplace_back(
          [&, i] { reports[static_cast<std::size_t>(i)] = run_connection(o, i, start, stop); });
  }
  Report total;
  for (const auto& r : reports)
    total.merge(r);
  total.elapsed_s = std::chrono::duration<double>(Clock::now() - start).count();
  return total;
}

std::string format_text(const Report& r, const Options& o) {
  const std::string load =
      o.use_grpc() ? "gRPC " + o.grpc + ": " + std::to_string(o.clients) + " clients over " +
                         std::to_string(o.conns) + " conns, " + std::to_string(r.grpc_threads) +
                         " thread" + (r.grpc_threads == 1 ? "" : "s")
                   : o.endpoint + ": " + std::to_string(o.connections) + " connections x " +
                         std::to_string(o.inflight) + " in flight";
  std::string out = "revkv-bench " + load + ", " + fmt("%.1f", r.elapsed_s) + " s, " +
                    std::to_string(o.keys) + " keys, " + std::to_string(o.value_size) +
                    " B values\n";
  char line[256];
  std::snprintf(line, sizeof line, "%-6s %10s %8s %12s %10s %10s %10s %10s\n", "op", "count",
                "errors", "ops/s", "p50(us)", "p99(us)", "p999(us)", "max(us)");
  out += line;
  Histogram all;
  uint64_t errors = 0;
  auto row = [&](const char* name, const Histogram& h, uint64_t errs) {
    std::snprintf(line, sizeof line, "%-6s %10llu %8llu %12.1f %10.1f %10.1f %10.1f %10.1f\n", name,
                  static_cast<unsigned long long>(h.count()), static_cast<unsigned long long>(errs),
                  r.elapsed_s > 0 ? static_cast<double>(h.count()) / r.elapsed_s : 0.0,
                  us(h.percentile(0.5)), us(h.percentile(0.99)), us(h.percentile(0.999)),
                  us(h.max()));
    out += line;
  };
  for (std::size_t i = 0; i < kOpCount; ++i) {
    if (o.mix[i] == 0) continue;
    row(kOpNames[i], r.ops[i].latency, r.ops[i].errors);
    all.merge(r.ops[i].latency);
    errors += r.ops[i].errors;
  }
  row("total", all, errors);
  if (o.mix[static_cast<std::size_t>(Op::list)] > 0) {
    const auto& l = r.lists;
    std::snprintf(line, sizeof line,
                  "lists: %llu complete (%.1f/s, pages of %lld), %llu keys, %llu not %lld keys "
                  "in order%s\n",
                  static_cast<unsigned long long>(l.complete),
                  r.elapsed_s > 0 ? static_cast<double>(l.complete) / r.elapsed_s : 0.0,
                  static_cast<long long>(o.range_size), static_cast<unsigned long long>(l.keys),
                  static_cast<unsigned long long>(l.mismatched), static_cast<long long>(o.keys),
                  l.mismatched > 0 ? ": MISMATCH" : "");
    out += line;
  }
  if (o.stall_ms > 0) {
    out += format_stalls(summarize_stalls(r.slow, o.connections, kStallWindowMs), o.stall_ms,
                         kStallWindowMs);
  }
  if (r.failed_connections > 0)
    out += "failed connections: " + std::to_string(r.failed_connections) + "\n";
  if (!r.first_error.empty()) out += "first error: " + r.first_error + "\n";
  return out;
}

std::string format_json(const Report& r, const Options& o) {
  return util::json::dump(report_json(r, o)) + "\n";
}

}  // namespace revkv::bench
