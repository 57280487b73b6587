// Bad input on revkvd's gRPC door, sent as raw bytes where no generated stub would send
// them: every request gets a clear answer (grpc-go's or etcd's code and text), the node
// keeps serving, and every write acknowledged before is still there.

#include "tests/etcdapi/raw_grpc.hpp"
#include "tests/monitoring/scrape.hpp"
#include "tests/node/node_process.hpp"
#include "tests/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <etcdserverpb/rpc.grpc.pb.h>
#include <future>
#include <google/protobuf/descriptor.h>
#include <grpcpp/grpcpp.h>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace revkv {
namespace {

using namespace std::chrono_literals;
using testing::proc_status_field;
using testing::raw_unary;

// A fresh node with etcd's defaults (--max-request-bytes 1.5 MiB, --max-txn-ops 128) and
// the writes acknowledged to this test.
struct Node {
  testing::TempDir dir;
  testing::NodeProcess process{dir.sub("node"), {"--shards", "2", "--sync", "never"}};
  std::shared_ptr<grpc::Channel> channel =
      grpc::CreateChannel(process.grpc_endpoint(), grpc::InsecureChannelCredentials());
  std::unique_ptr<etcdserverpb::KV::Stub> kv = etcdserverpb::KV::NewStub(channel);
  std::map<std::string, std::string> acknowledged;

  static std::unique_ptr<grpc::ClientContext> context() {
    auto ctx = std::make_unique<grpc::ClientContext>();
    ctx->set_deadline(std::chrono::system_clock::now() + 30s);
    return ctx;
  }

  // A normal write succeeds, and every write acknowledged so far reads back unchanged.
  void still_serving() {
    std::string key = "ack/" + std::to_string(acknowledged.size());
    etcdserverpb::PutRequest put;
    put.set_key(key);
    put.set_value("value of " + key);
    etcdserverpb::PutResponse put_response;
    auto status = kv->Put(context().get(), put, &put_response);
    REQUIRE(status.ok());
    acknowledged[key] = put.value();

    etcdserverpb::RangeRequest range;
    range.set_key("ack/");
    range.set_range_end("ack0");
    etcdserverpb::RangeResponse got;
    status = kv->Range(context().get(), range, &got);
    REQUIRE(status.ok());
    REQUIRE(got.kvs_size() == static_cast<int>(acknowledged.size()));
    for (const auto& k : got.kvs())
      CHECK(acknowledged[k.key()] == k.value());
  }
};

const google::protobuf::FileDescriptor& rpc_proto() {
  return *etcdserverpb::RangeRequest::descriptor()->file();
}

// A bidirectional call with raw bytes as its only message, then half-closed.
class RawBidi final : public grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  RawBidi(const std::shared_ptr<grpc::Channel>& channel, const std::string& method,
          const std::string& bytes)
      : stub_(channel) {
    ctx_.set_deadline(std::chrono::system_clock::now() + 30s);
    grpc::Slice slice(bytes);
    request_ = grpc::ByteBuffer(&slice, 1);
    stub_.PrepareBidiStreamingCall(&ctx_, method, grpc::StubOptions(), this);
    StartWriteLast(&request_, grpc::WriteOptions());
    StartRead(&response_);
    StartCall();
  }
  void OnReadDone(bool ok) override {
    if (!ok) return;
    ++responses_;
    StartRead(&response_);
  }
  void OnDone(const grpc::Status& s) override { done_.set_value(s); }
  grpc::Status wait() { return done_.get_future().get(); }
  int responses() const { return responses_; }

 private:
  grpc::GenericStub stub_;
  grpc::ClientContext ctx_;
  grpc::ByteBuffer request_;
  grpc::ByteBuffer response_;
  int responses_ = 0;
  std::promise<grpc::Status> done_;
};

TEST_CASE(
    "gRPC bad input: bytes that do not parse, to every method, get Internal and the "
    "node serves on",
    "[etcdapi][grpc][bad-input]") {
  Node n;
  n.still_serving();
  // An unfinished varint; a length-delimited field 1 longer than what follows.
  const std::vector<std::string> garbage{"\xff\xff\xff",
                                         "\x0a\x05"
                                         "ab"};
  const auto& file = rpc_proto();
  int calls = 0;
  for (int s = 0; s < file.service_count(); ++s) {
    const auto* service = file.service(s);
    for (int m = 0; m < service->method_count(); ++m) {
      const auto* method = service->method(m);
      if (method->client_streaming()) continue;  // below
      std::string path = "/" + service->full_name() + "/" + method->name();
      for (const auto& bytes : garbage) {
        INFO(path);
        auto answer = raw_unary(n.channel, path, bytes);
        // etcd (grpc-go): Internal "grpc: error unmarshalling request: <reason>".
        CHECK(answer.code == grpc::StatusCode::INTERNAL);
        CHECK(answer.message == "grpc: error unmarshalling request: malformed protobuf message");
        ++calls;
      }
    }
  }
  CHECK(calls >= 2 * 20);
  n.still_serving();

  SECTION("in a bidirectional stream the bad message ends the stream, unanswered") {
    for (const char* method : {"/etcdserverpb.Lease/LeaseKeepAlive", "/etcdserverpb.Watch/Watch"}) {
      for (const auto& bytes : garbage) {
        INFO(method);
        RawBidi stream(n.channel, method, bytes);
        auto status = stream.wait();
        INFO(status.error_code() << " " << status.error_message());
        // gRPC C++ reports the unparsable read as the end of the client's stream.
        CHECK(stream.responses() == 0);
      }
    }
    n.still_serving();
  }
}

TEST_CASE("gRPC bad input: unknown methods and services get Unimplemented with grpc-go's text",
          "[etcdapi][grpc][bad-input]") {
  Node n;
  n.still_serving();
  auto a = raw_unary(n.channel, "/etcdserverpb.KV/Nope", "");
  CHECK(a.code == grpc::StatusCode::UNIMPLEMENTED);
  CHECK(a.message == "unknown method Nope for service etcdserverpb.KV");
  a = raw_unary(n.channel, "/etcdserverpb.Nope/Range", "");
  CHECK(a.code == grpc::StatusCode::UNIMPLEMENTED);
  CHECK(a.message == "unknown service etcdserverpb.Nope");
  a = raw_unary(n.channel, "no-slash-at-all", "\x01");
  CHECK(a.code == grpc::StatusCode::UNIMPLEMENTED);
  n.still_serving();
}

TEST_CASE("gRPC bad input: requests over --max-request-bytes", "[etcdapi][grpc][bad-input]") {
  Node n;
  n.still_serving();
  constexpr size_t kMaxRequestBytes = 1536 * 1024;  // revkvd's default, etcd's
  etcdserverpb::PutRequest put;
  put.set_key("big");

  // Just over etcd's own limit: InvalidArgument "etcdserver: request is too large", as
  // etcd 3.4 answers (rpctypes.ErrGRPCRequestTooLarge is InvalidArgument).
  put.set_value(std::string(kMaxRequestBytes, 'v'));
  REQUIRE(put.ByteSizeLong() > kMaxRequestBytes);
  auto a = raw_unary(n.channel, "/etcdserverpb.KV/Put", put.SerializeAsString());
  CHECK(a.code == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(a.message == "etcdserver: request is too large");
  // Exactly at the limit: served.
  put.set_value(std::string(put.value().size() - (put.ByteSizeLong() - kMaxRequestBytes), 'v'));
  REQUIRE(put.ByteSizeLong() == kMaxRequestBytes);
  a = raw_unary(n.channel, "/etcdserverpb.KV/Put", put.SerializeAsString());
  CHECK(a.code == grpc::StatusCode::OK);

  // Beyond the limit plus gRPC's 512 KiB of slack: gRPC refuses the message itself.
  put.set_value(std::string(kMaxRequestBytes + 512 * 1024 + 1, 'v'));
  a = raw_unary(n.channel, "/etcdserverpb.KV/Put", put.SerializeAsString());
  CHECK(a.code == grpc::StatusCode::RESOURCE_EXHAUSTED);
  CHECK(a.message.find("larger than max") != std::string::npos);
  n.still_serving();

  // The big value written at the limit is still there.
  etcdserverpb::RangeRequest range;
  range.set_key("big");
  range.set_count_only(true);
  etcdserverpb::RangeResponse got;
  REQUIRE(n.kv->Range(Node::context().get(), range, &got).ok());
  CHECK(got.count() == 1);
}

etcdserverpb::TxnRequest txn_of_puts(int ops) {
  etcdserverpb::TxnRequest txn;
  for (int i = 0; i < ops; ++i) {
    auto* put = txn.add_success()->mutable_request_put();
    put->set_key("txn/" + std::to_string(i));
    put->set_value(std::string(1000, 'x'));
  }
  return txn;
}

// A Txn whose success branch holds a Txn, `depth` times.
etcdserverpb::TxnRequest nested_txn(int depth) {
  etcdserverpb::TxnRequest txn;
  auto* put = txn.add_success()->mutable_request_put();
  put->set_key("nested");
  put->set_value("deepest");
  for (int i = 1; i < depth; ++i) {
    etcdserverpb::TxnRequest outer;
    *outer.add_success()->mutable_request_txn() = std::move(txn);
    txn = std::move(outer);
  }
  return txn;
}

TEST_CASE("gRPC bad input: huge and deeply nested Txn", "[etcdapi][grpc][bad-input]") {
  Node n;
  n.still_serving();
  // Over --max-txn-ops (128).
  auto a = raw_unary(n.channel, "/etcdserverpb.KV/Txn", txn_of_puts(129).SerializeAsString());
  CHECK(a.code == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(a.message == "etcdserver: too many operations in txn request");
  // At it, with 1,000-byte values: served.
  a = raw_unary(n.channel, "/etcdserverpb.KV/Txn", txn_of_puts(128).SerializeAsString());
  CHECK(a.code == grpc::StatusCode::OK);
  n.still_serving();

  // Nested 40 deep: a legal request, served.
  a = raw_unary(n.channel, "/etcdserverpb.KV/Txn", nested_txn(40).SerializeAsString());
  CHECK(a.code == grpc::StatusCode::OK);
  n.still_serving();
  // Nested past protobuf's recursion limit (100 messages deep): it does not parse.
  a = raw_unary(n.channel, "/etcdserverpb.KV/Txn", nested_txn(400).SerializeAsString());
  CHECK(a.code == grpc::StatusCode::INTERNAL);
  CHECK(a.message == "grpc: error unmarshalling request: malformed protobuf message");
  n.still_serving();
}

TEST_CASE("gRPC bad input: invalid enum values and empty keys", "[etcdapi][grpc][bad-input]") {
  Node n;
  n.still_serving();
  auto range_with = [](int order, int target) {
    etcdserverpb::RangeRequest r;
    r.set_key("ack/");
    r.set_range_end("ack0");
    r.set_sort_order(static_cast<etcdserverpb::RangeRequest::SortOrder>(order));
    r.set_sort_target(static_cast<etcdserverpb::RangeRequest::SortTarget>(target));
    return r.SerializeAsString();
  };
  // etcd 3.5's checkRangeRequest (etcd 3.4 panics on an unknown sort target).
  for (auto [order, target] : {std::pair{7, 0}, std::pair{0, 9}, std::pair{-1, 0}}) {
    auto a = raw_unary(n.channel, "/etcdserverpb.KV/Range", range_with(order, target));
    CHECK(a.code == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(a.message == "etcdserver: invalid sort option");
  }
  n.still_serving();

  // An unknown compare target or result is evaluated as etcd 3.4 evaluates it: the target
  // compares as equal, the result holds. (tests/etcdapi/gateway_clients_test.cpp compares
  // these with etcd over its gateway.)
  etcdserverpb::TxnRequest txn;
  auto* cmp = txn.add_compare();
  cmp->set_key("ack/0");
  const auto succeeded = [&](int target, int result) -> std::optional<bool> {
    cmp->set_target(static_cast<etcdserverpb::Compare::CompareTarget>(target));
    cmp->set_result(static_cast<etcdserverpb::Compare::CompareResult>(result));
    auto a = raw_unary(n.channel, "/etcdserverpb.KV/Txn", txn.SerializeAsString());
    INFO(a.message);
    if (a.code != grpc::StatusCode::OK) return std::nullopt;
    etcdserverpb::TxnResponse r;
    if (!r.ParseFromString(a.body)) return std::nullopt;
    return r.succeeded();
  };
  CHECK(succeeded(9, 9) == true);
  CHECK(succeeded(etcdserverpb::Compare::VALUE, 9) == true);
  CHECK(succeeded(9, etcdserverpb::Compare::EQUAL) == true);
  CHECK(succeeded(-1, etcdserverpb::Compare::GREATER) == false);
  CHECK(succeeded(9, etcdserverpb::Compare::NOT_EQUAL) == false);

  // An unknown alarm action changes nothing and is answered (etcd 3.4 panics on it).
  etcdserverpb::AlarmRequest alarm;
  alarm.set_action(static_cast<etcdserverpb::AlarmRequest::AlarmAction>(7));
  alarm.set_alarm(static_cast<etcdserverpb::AlarmType>(42));
  auto a = raw_unary(n.channel, "/etcdserverpb.Maintenance/Alarm", alarm.SerializeAsString());
  CHECK(a.code == grpc::StatusCode::OK);
  n.still_serving();

  // Empty keys: etcd's "key is not provided".
  for (const char* method :
       {"/etcdserverpb.KV/Put", "/etcdserverpb.KV/Range", "/etcdserverpb.KV/DeleteRange"}) {
    INFO(method);
    a = raw_unary(n.channel, method, "");
    CHECK(a.code == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(a.message == "etcdserver: key is not provided");
  }
  etcdserverpb::TxnRequest empty_key_txn;
  empty_key_txn.add_success()->mutable_request_put()->set_value("v");
  a = raw_unary(n.channel, "/etcdserverpb.KV/Txn", empty_key_txn.SerializeAsString());
  CHECK(a.code == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(a.message == "etcdserver: key is not provided");
  n.still_serving();
}

// Every `service`/`method` bidirectional stream the server started has been finished by it
// (by any code), per the go-grpc-prometheus counters; waits up to 60 s.
bool all_streams_ended_on(uint16_t metrics_port, const std::string& service,
                          const std::string& method) {
  for (auto deadline = std::chrono::steady_clock::now() + 60s;
       std::chrono::steady_clock::now() < deadline; std::this_thread::sleep_for(50ms)) {
    auto scrape = testing::scrape_metrics(metrics_port);
    std::map<std::string, std::string> labels{
        {"grpc_method", method}, {"grpc_service", service}, {"grpc_type", "bidi_stream"}};
    double started = testing::sample(scrape, testing::series("grpc_server_started_total", labels));
    double handled = 0;
    for (const char* code : {"OK", "Canceled", "Unavailable", "Internal"}) {
      labels["grpc_code"] = code;
      handled += testing::sample(scrape, testing::series("grpc_server_handled_total", labels));
    }
    if (started > 0 && started == handled) return true;
  }
  return false;
}

// Opens `count` LeaseKeepAlive streams over `connections` connections, has each answered
// once, then drops them all without closing: half cancelled, half abandoned with their
// connection.
void open_and_drop_keepalives(const std::string& endpoint, int64_t lease, int count,
                              int connections) {
  for (int c = 0; c < connections; ++c) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // a connection of its own
    auto channel = grpc::CreateCustomChannel(endpoint, grpc::InsecureChannelCredentials(), args);
    auto stub = etcdserverpb::Lease::NewStub(channel);
    struct Open {
      std::unique_ptr<grpc::ClientContext> ctx;
      std::unique_ptr<grpc::ClientReaderWriter<etcdserverpb::LeaseKeepAliveRequest,
                                               etcdserverpb::LeaseKeepAliveResponse>>
          stream;
    };
    std::vector<Open> open;
    for (int i = 0; i < count / connections; ++i) {
      Open o{Node::context(), nullptr};
      o.stream = stub->LeaseKeepAlive(o.ctx.get());
      etcdserverpb::LeaseKeepAliveRequest req;
      req.set_id(lease);
      REQUIRE(o.stream->Write(req));
      etcdserverpb::LeaseKeepAliveResponse resp;
      REQUIRE(o.stream->Read(&resp));
      REQUIRE(resp.ttl() > 0);
      open.push_back(std::move(o));
    }
    for (size_t i = 0; i < open.size(); i += 2)
      open[i].ctx->TryCancel();
    // The rest go with the channel: their calls are cancelled as they are released.
  }
}

TEST_CASE(
    "gRPC bad input: thousands of LeaseKeepAlive streams opened and dropped leave no "
    "threads, memory or calls behind",
    "[etcdapi][grpc][bad-input][streams]") {
  Node n;
  n.still_serving();
  auto lease_stub = etcdserverpb::Lease::NewStub(n.channel);
  etcdserverpb::LeaseGrantRequest grant;
  grant.set_ttl(600);
  etcdserverpb::LeaseGrantResponse granted;
  REQUIRE(lease_stub->LeaseGrant(Node::context().get(), grant, &granted).ok());

  const auto keepalive_series = [](const char* name) {
    return testing::series(name, {{"grpc_method", "LeaseKeepAlive"},
                                  {"grpc_service", "etcdserverpb.Lease"},
                                  {"grpc_type", "bidi_stream"}});
  };
  // Every stream the server started has been finished by it (by any code).
  auto all_streams_ended = [&] {
    for (auto deadline = std::chrono::steady_clock::now() + 60s;
         std::chrono::steady_clock::now() < deadline; std::this_thread::sleep_for(50ms)) {
      auto scrape = testing::scrape_metrics(n.process.metrics_port());
      double started = testing::sample(scrape, keepalive_series("grpc_server_started_total"));
      double handled = 0;
      for (const char* code : {"OK", "Canceled", "Unavailable", "Internal"}) {
        handled += testing::sample(scrape, testing::series("grpc_server_handled_total",
                                                           {{"grpc_code", code},
                                                            {"grpc_method", "LeaseKeepAlive"},
                                                            {"grpc_service", "etcdserverpb.Lease"},
                                                            {"grpc_type", "bidi_stream"}}));
      }
      if (started > 0 && started == handled) return true;
    }
    return false;
  };

  // A first round brings gRPC's and the allocator's pools to their working size.
  open_and_drop_keepalives(n.process.grpc_endpoint(), granted.id(), 500, 5);
  REQUIRE(all_streams_ended());
  n.still_serving();
  long threads_before = proc_status_field(n.process.pid(), "Threads");
  long rss_before = proc_status_field(n.process.pid(), "VmRSS");
  REQUIRE(threads_before > 0);
  REQUIRE(rss_before > 0);

  for (int round = 0; round < 2; ++round) {
    open_and_drop_keepalives(n.process.grpc_endpoint(), granted.id(), 1000, 10);
    REQUIRE(all_streams_ended());
    n.still_serving();
  }
  long threads_after = proc_status_field(n.process.pid(), "Threads");
  long rss_after = proc_status_field(n.process.pid(), "VmRSS");
  INFO("threads " << threads_before << " -> " << threads_after << ", VmRSS kB " << rss_before
                  << " -> " << rss_after);
  // Generous bounds: a leaked stream or connection per call would pass them by far
  // (2,000 streams over 20 connections).
  CHECK(threads_after <= threads_before + 8);
  CHECK(rss_after <= rss_before + 64 * 1024);
  auto scrape = testing::scrape_metrics(n.process.metrics_port());
  CHECK(testing::sample(scrape, testing::series("grpc_server_started_total",
                                                {{"grpc_method", "LeaseKeepAlive"},
                                                 {"grpc_service", "etcdserverpb.Lease"},
                                                 {"grpc_type", "bidi_stream"}})) == 2500);
}

// Opens `count` Watch streams over `connections` connections, each with a watcher that
// was created and got one event, then drops them all without closing, as above.
void open_and_drop_watches(etcdserverpb::KV::Stub& kv, const std::string& endpoint, int count,
                           int connections) {
  for (int c = 0; c < connections; ++c) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    auto channel = grpc::CreateCustomChannel(endpoint, grpc::InsecureChannelCredentials(), args);
    auto stub = etcdserverpb::Watch::NewStub(channel);
    struct Open {
      std::unique_ptr<grpc::ClientContext> ctx;
      std::unique_ptr<
          grpc::ClientReaderWriter<etcdserverpb::WatchRequest, etcdserverpb::WatchResponse>>
          stream;
    };
    std::vector<Open> open;
    const std::string key = "watched/" + std::to_string(c);
    for (int i = 0; i < count / connections; ++i) {
      Open o{Node::context(), nullptr};
      o.stream = stub->Watch(o.ctx.get());
      etcdserverpb::WatchRequest create;
      create.mutable_create_request()->set_key(key);
      REQUIRE(o.stream->Write(create));
      etcdserverpb::WatchResponse created;
      REQUIRE(o.stream->Read(&created));
      REQUIRE(created.created());
      open.push_back(std::move(o));
    }
    etcdserverpb::PutRequest put;
    put.set_key(key);
    put.set_value("v");
    etcdserverpb::PutResponse put_response;
    REQUIRE(kv.Put(Node::context().get(), put, &put_response).ok());
    for (auto& o : open) {
      etcdserverpb::WatchResponse event;
      REQUIRE(o.stream->Read(&event));
      REQUIRE(event.events_size() == 1);
    }
    for (size_t i = 0; i < open.size(); i += 2)
      open[i].ctx->TryCancel();
  }
}

TEST_CASE(
    "gRPC bad input: thousands of Watch streams opened and dropped leave no threads, "
    "memory or calls behind",
    "[etcdapi][grpc][bad-input][streams][watch]") {
  Node n;
  n.still_serving();
  auto all_streams_ended = [&] {
    return all_streams_ended_on(n.process.metrics_port(), "etcdserverpb.Watch", "Watch");
  };
  open_and_drop_watches(*n.kv, n.process.grpc_endpoint(), 500, 5);
  REQUIRE(all_streams_ended());
  n.still_serving();
  long threads_before = proc_status_field(n.process.pid(), "Threads");
  long rss_before = proc_status_field(n.process.pid(), "VmRSS");
  REQUIRE(threads_before > 0);
  REQUIRE(rss_before > 0);

  for (int round = 0; round < 2; ++round) {
    open_and_drop_watches(*n.kv, n.process.grpc_endpoint(), 1000, 10);
    REQUIRE(all_streams_ended());
    n.still_serving();
  }
  long rss_after = proc_status_field(n.process.pid(), "VmRSS");
  // gRPC's executors start threads under a burst and end them when idle: a leak is a count
  // that stays up, so the count is awaited (with a deadline) rather than read once.
  long threads_after = proc_status_field(n.process.pid(), "Threads");
  for (auto deadline = std::chrono::steady_clock::now() + 30s;
       threads_after > threads_before + 8 && std::chrono::steady_clock::now() < deadline;
       std::this_thread::sleep_for(50ms))
    threads_after = proc_status_field(n.process.pid(), "Threads");
  INFO("threads " << threads_before << " -> " << threads_after << ", VmRSS kB " << rss_before
                  << " -> " << rss_after);
  CHECK(threads_after <= threads_before + 8);
  CHECK(rss_after <= rss_before + 64 * 1024);
  // Every watcher went with its stream. A stream's end is counted when its status is sent;
  // its watchers leave the hub by a message after that, so the gauge is awaited.
  double watchers = -1;
  for (auto deadline = std::chrono::steady_clock::now() + 30s;
       std::chrono::steady_clock::now() < deadline; std::this_thread::sleep_for(50ms)) {
    watchers = testing::sample(testing::scrape_metrics(n.process.metrics_port()), "revkv_watchers");
    if (watchers == 0) break;
  }
  CHECK(watchers == 0);
}

}  // namespace
}  // namespace revkv
