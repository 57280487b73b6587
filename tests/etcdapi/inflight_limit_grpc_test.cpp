// The gRPC door's in-flight limit: a door actor holds at most max_inflight_per_connection
// (256) requests in its request path, the bound the MessagePack door keeps per connection;
// past it a call is refused at once with etcd's overload answer, ResourceExhausted
// "etcdserver: too many requests", and nothing is queued for it.
//
// Calls are held in the doors deterministically, without timing: a snapshot stream the
// client does not read stays in its door's path (the path sends chunks only while less
// than 4 MiB are unsent), and a write that arrives after a read waits for that read to be
// answered (the ordering rules of actors/request_path.hpp).

#include "tests/monitoring/scrape.hpp"
#include "tests/node/node_process.hpp"
#include "tests/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <etcdserverpb/rpc.grpc.pb.h>
#include <grpcpp/grpcpp.h>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace revkv {
namespace {

using namespace std::chrono_literals;

std::unique_ptr<grpc::ClientContext> context() {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + 120s);
  return ctx;
}

std::string random_bytes(std::mt19937_64& rng, size_t n) {
  std::string out(n, '\0');
  for (auto& c : out)
    c = static_cast<char>(rng());
  return out;
}

// Puts sent together with the callback API; counts the answers by status.
class PutBurst {
 public:
  PutBurst(etcdserverpb::KV::Stub& stub, int count) : calls_(static_cast<size_t>(count)) {
    for (int i = 0; i < count; ++i) {
      auto& c = calls_[static_cast<size_t>(i)];
      c.ctx = context();
      c.request.set_key("held/" + std::to_string(i));
      c.request.set_value("v");
      stub.async()->Put(c.ctx.get(), &c.request, &c.response, [this, &c](grpc::Status s) {
        std::lock_guard lock(mutex_);
        c.status = std::move(s);
        ++answered_;
        if (c.status->ok()) ++ok_;
        changed_.notify_all();
      });
    }
  }
  ~PutBurst() { wait_answered(calls_.size()); }

  // Waits (up to 120 s) until `n` calls are answered; false if they were not.
  bool wait_answered(size_t n) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, 120s, [&] { return answered_ >= n; });
  }
  size_t answered() {
    std::lock_guard lock(mutex_);
    return answered_;
  }
  size_t ok() {
    std::lock_guard lock(mutex_);
    return ok_;
  }
  // The answers that are not OK, as "code message" (a status of each kind once).
  std::vector<std::string> refusals() {
    std::lock_guard lock(mutex_);
    std::vector<std::string> out;
    for (const auto& c : calls_) {
      if (!c.status || c.status->ok()) continue;
      auto text = std::to_string(c.status->error_code()) + " " + c.status->error_message();
      if (std::find(out.begin(), out.end(), text) == out.end()) out.push_back(text);
    }
    return out;
  }

 private:
  struct Call {
    std::unique_ptr<grpc::ClientContext> ctx;
    etcdserverpb::PutRequest request;
    etcdserverpb::PutResponse response;
    std::optional<grpc::Status> status;
  };
  std::vector<Call> calls_;
  std::mutex mutex_;
  std::condition_variable changed_;
  size_t answered_ = 0;
  size_t ok_ = 0;
};

TEST_CASE(
    "gRPC door: past 256 requests in a door's path a call gets ResourceExhausted "
    "'etcdserver: too many requests', the held ones complete once released",
    "[etcdapi][grpc][limits]") {
  testing::TempDir dir;
  // Two doors, so that two snapshots hold them all.
  testing::NodeProcess node(dir.sub("node"),
                            {"--shards", "2", "--sync", "never", "--grpc-doors", "2"});
  auto channel = grpc::CreateChannel(node.grpc_endpoint(), grpc::InsecureChannelCredentials());
  auto kv = etcdserverpb::KV::NewStub(channel);
  // The snapshots' own connection takes little before its client reads: no BDP probing
  // (which would widen the stream window to several MiB) and a 64 KiB stream window.
  grpc::ChannelArguments small_window;
  small_window.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  small_window.SetInt(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, 64 * 1024);
  small_window.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  auto maintenance = etcdserverpb::Maintenance::NewStub(grpc::CreateCustomChannel(
      node.grpc_endpoint(), grpc::InsecureChannelCredentials(), small_window));

  // 24 MiB that do not compress, so a snapshot is far larger than the path's 4 MiB window
  // plus what the connection holds.
  std::mt19937_64 rng(11);
  for (int i = 0; i < 24; ++i) {
    etcdserverpb::PutRequest put;
    put.set_key("fill/" + std::to_string(i));
    put.set_value(random_bytes(rng, 1 << 20));
    etcdserverpb::PutResponse r;
    REQUIRE(kv->Put(context().get(), put, &r).ok());
  }

  // revkvd runs max(--grpc-doors, scheduler threads = max(2, cores)) doors
  // (apps/revkvd/main.cpp); the calls take the doors in turn, so that as many snapshots in
  // a row hold every door.
  const size_t doors = std::max(2u, std::thread::hardware_concurrency());
  constexpr size_t kLimit = 256;  // NodeOptions::max_inflight_per_connection
  struct Held {
    std::unique_ptr<grpc::ClientContext> ctx;
    std::unique_ptr<grpc::ClientReader<etcdserverpb::SnapshotResponse>> reader;
  };
  std::vector<Held> snapshots;
  for (size_t d = 0; d < doors; ++d) {
    Held h{context(), nullptr};
    h.reader = maintenance->Snapshot(h.ctx.get(), etcdserverpb::SnapshotRequest{});
    // Its first chunk: the snapshot is in its door's path, streaming; then nothing is read.
    etcdserverpb::SnapshotResponse chunk;
    if (!h.reader->Read(&chunk)) {
      auto status = h.reader->Finish();
      FAIL("snapshot " << d << " ended at once: " << status.error_code() << " "
                       << status.error_message());
    }
    REQUIRE(chunk.remaining_bytes() > 0);
    snapshots.push_back(std::move(h));
  }

  // Each door takes limit - 1 puts behind its snapshot; the rest are refused at once.
  const size_t count = doors * kLimit + 100;
  const size_t held = doors * (kLimit - 1);
  PutBurst burst(*kv, static_cast<int>(count));
  REQUIRE(burst.wait_answered(count - held));
  CHECK(burst.ok() == 0);
  CHECK(burst.refusals() ==
        std::vector<std::string>{"8 etcdserver: too many requests"});  // ResourceExhausted
  // Counted like any other answer, by go-grpc-prometheus's names.
  auto scrape = testing::scrape_metrics(node.metrics_port());
  CHECK(testing::sample(scrape, testing::series("grpc_server_handled_total",
                                                {{"grpc_code", "ResourceExhausted"},
                                                 {"grpc_method", "Put"},
                                                 {"grpc_service", "etcdserverpb.KV"},
                                                 {"grpc_type", "unary"}})) ==
        static_cast<double>(count - held));

  // Released: the snapshots go (their remaining chunks are dropped), the held puts run.
  for (auto& s : snapshots)
    s.ctx->TryCancel();
  REQUIRE(burst.wait_answered(count));
  CHECK(burst.answered() == count);
  CHECK(burst.ok() == held);
  snapshots.clear();

  // Every acknowledged put is there, and the node serves on.
  etcdserverpb::RangeRequest range;
  range.set_key("held/");
  range.set_range_end("held0");
  range.set_count_only(true);
  etcdserverpb::RangeResponse got;
  REQUIRE(kv->Range(context().get(), range, &got).ok());
  CHECK(got.count() == static_cast<int64_t>(held));
}

}  // namespace
}  // namespace revkv
