#include "apps/revkv-bench/grpc_watch_bench.hpp"

#include "apps/revkv-bench/grpc_channels.hpp"
#include "apps/revkv-bench/grpc_load.hpp"
#include "apps/revkv-bench/workload.hpp"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <etcdserverpb/rpc.grpc.pb.h>
#include <grpcpp/client_context.h>
#include <grpcpp/support/client_callback.h>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>

namespace revkv::bench {
namespace {

namespace pb = etcdserverpb;
using Clock = std::chrono::steady_clock;

// How long the run waits, after the load, for the events still owed.
constexpr auto kDeliveryWait = std::chrono::seconds(60);

// Counts of streams that are ready (every watcher created, or failed) and done.
struct StreamStates {
  std::mutex mutex;
  std::condition_variable changed;
  int ready = 0;
  int done = 0;

  void mark_ready() {
    std::lock_guard lock(mutex);
    ++ready;
    changed.notify_all();
  }
  // One update, so that a waiter never sees a stream ready but not yet done.
  void mark_done(bool also_ready) {
    std::lock_guard lock(mutex);
    ready += also_ready ? 1 : 0;
    ++done;
    changed.notify_all();
  }
};

// One Watch stream: writes its creates one after the other, then reads until cancelled.
// Reads run one at a time, so what they update needs no lock; the caller reads it after
// OnDone.
class WatchStream final : public grpc::ClientBidiReactor<pb::WatchRequest, pb::WatchResponse> {
 public:
  WatchStream(pb::Watch::Stub& stub, std::vector<std::string> keys, StreamStates& states)
      : stub_(stub), keys_(std::move(keys)), states_(states) {}

  void start() {
    stub_.async()->Watch(&context_, this);
    StartRead(&in_);
    write_next_create();
    StartCall();
  }
  // Ends the stream; the CANCELLED status that follows is the run's end, not an error.
  void end() {
    ending_ = true;
    context_.TryCancel();
  }

  uint64_t events() const { return events_.load(std::memory_order_relaxed); }
  // After OnDone:
  const Histogram& delivery() const { return delivery_; }
  uint64_t out_of_order() const { return out_of_order_; }
  Clock::time_point last_event() const { return last_event_; }
  const std::string& error() const { return error_; }

  void OnWriteDone(bool ok) override {
    if (ok) write_next_create();  // else the stream is broken: OnDone follows
  }

  void OnReadDone(bool ok) override {
    if (!ok) return;  // the stream ended: OnDone follows
    take(in_);
    StartRead(&in_);
  }

  void OnDone(const grpc::Status& status) override {
    if (!status.ok() && !ending_.load() && error_.empty())
      error_ = "watch stream: " + describe(status);
    states_.mark_done(!ready_);
  }

 private:
  void write_next_create() {
    if (sent_ == keys_.size()) return;
    out_.Clear();
    out_.mutable_create_request()->set_key(keys_[sent_++]);
    StartWrite(&out_);
  }

  void take(const pb::WatchResponse& r) {
    if (r.created()) {
      last_revision_.emplace(r.watch_id(), 0);
      if (last_revision_.size() == keys_.size() && !ready_) mark_ready();
    }
    if (r.canceled()) {
      if (error_.empty()) error_ = "watch canceled: " + r.cancel_reason();
      if (!ready_) mark_ready();
    }
    if (r.events_size() == 0) return;
    const auto now = Clock::now();
    int64_t& last = last_revision_[r.watch_id()];
    for (const auto& event : r.events()) {
      const int64_t revision = event.kv().mod_revision();
      if (revision <= last) ++out_of_order_;
      last = revision;
      if (int64_t sent = stamp_of(event.kv().value());
          sent > 0 && now.time_since_epoch().count() >= sent) {
        delivery_.record(static_cast<uint64_t>(now.time_since_epoch().count() - sent));
      }
    }
    last_event_ = now;
    events_.fetch_add(static_cast<uint64_t>(r.events_size()), std::memory_order_relaxed);
  }

  void mark_ready() {
    ready_ = true;
    states_.mark_ready();
  }

  pb::Watch::Stub& stub_;
  const std::vector<std::string> keys_;
  StreamStates& states_;
  grpc::ClientContext context_;
  pb::WatchRequest out_;
  pb::WatchResponse in_;
  std::size_t sent_ = 0;
  std::atomic<bool> ending_{false};
  bool ready_ = false;
  std::unordered_map<int64_t, int64_t> last_revision_;  // watch id → last event's revision
  std::atomic<uint64_t> events_{0};
  uint64_t out_of_order_ = 0;
  Histogram delivery_;
  Clock::time_point last_event_{};
  std::string error_;
};

}  // namespace

WatchReport run_grpc_watch(const Options& o) {
  WatchReport report;
  report.counted = true;
  auto channels =
      connect_channels(o.grpc, std::min(o.conns, o.watch_streams), {o.cacert, o.cert, o.key});
  if (!channels.error.empty()) {
    report.failed_streams = static_cast<uint64_t>(o.watch_streams);
    report.first_error = channels.error;
    return report;
  }
  std::vector<std::unique_ptr<pb::Watch::Stub>> stubs;
  for (const auto& channel : channels.channels)
    stubs.push_back(pb::Watch::NewStub(channel));

  StreamStates states;
  std::vector<std::unique_ptr<WatchStream>> streams;
  for (int s = 0; s < o.watch_streams; ++s) {
    std::vector<std::string> keys;
    for (int j = s; j < o.watchers; j += o.watch_streams)
      keys.push_back(key_of(j % o.keys));
    streams.push_back(std::make_unique<WatchStream>(
        *stubs[static_cast<std::size_t>(s) % stubs.size()], std::move(keys), states));
  }
  for (auto& stream : streams)
    stream->start();
  {
    std::unique_lock lock(states.mutex);
    states.changed.wait(lock, [&] { return states.ready == o.watch_streams; });
  }

  {
    // Every stream ended before its watchers were all created: nothing to measure.
    std::lock_guard lock(states.mutex);
    if (states.done == o.watch_streams) {
      report.failed_streams = static_cast<uint64_t>(o.watch_streams);
      report.first_error = streams.front()->error();
      return report;
    }
  }

  PutCounts puts(static_cast<std::size_t>(o.keys));
  const auto start = Clock::now();
  report.writes = run_grpc(o, &puts);
  for (int j = 0; j < o.watchers; ++j)
    report.expected += puts[static_cast<std::size_t>(j % o.keys)].load();

  // Wait for what is owed (a put whose answer was lost may add one more: not fewer).
  auto delivered = [&] {
    uint64_t n = 0;
    for (const auto& stream : streams)
      n += stream->events();
    return n;
  };
  const auto give_up = Clock::now() + kDeliveryWait;
  while (delivered() < report.expected && Clock::now() < give_up) {
    {
      std::lock_guard lock(states.mutex);
      if (states.done == o.watch_streams) break;  // every stream ended early
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  for (auto& stream : streams) {
    stream->end();
  }
  {
    std::unique_lock lock(states.mutex);
    states.changed.wait(lock, [&] { return states.done == o.watch_streams; });
  }

  Clock::time_point last = start;
  for (const auto& stream : streams) {
    report.events += stream->events();
    report.out_of_order += stream->out_of_order();
    report.delivery.merge(stream->delivery());
    last = std::max(last, stream->last_event());
    if (!stream->error().empty()) {
      ++report.failed_streams;
      if (report.first_error.empty()) report.first_error = stream->error();
    }
  }
  report.elapsed_s = std::chrono::duration<double>(last - start).count();
  return report;
}

}  // namespace revkv::bench
