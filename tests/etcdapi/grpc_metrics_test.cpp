// The gRPC door's go-grpc-prometheus counters on /metrics (etcdapi/metrics_interceptor.hpp):
// every method of etcd's rpc.proto exported at zero from the start, then exact counts after
// known calls of each kind: unary (answered and refused), server stream (Snapshot),
// bidirectional stream (LeaseKeepAlive, closed and cancelled), unparsable requests and
// unknown methods.

#include "tests/etcdapi/raw_grpc.hpp"
#include "tests/monitoring/scrape.hpp"
#include "tests/node/node_process.hpp"
#include "tests/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <etcdserverpb/rpc.grpc.pb.h>
#include <google/protobuf/descriptor.h>
#include <grpcpp/grpcpp.h>
#include <map>
#include <memory>
#include <string>
#include <thread>

namespace revkv {
namespace {

using namespace std::chrono_literals;

const char* const kCodes[] = {
    "OK",       "Canceled",       "Unknown",          "InvalidArgument",   "DeadlineExceeded",
    "NotFound", "AlreadyExists",  "PermissionDenied", "ResourceExhausted", "FailedPrecondition",
    "Aborted",  "OutOfRange",     "Unimplemented",    "Internal",          "Unavailable",
    "DataLoss", "Unauthenticated"};

std::unique_ptr<grpc::ClientContext> context() {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + 30s);
  return ctx;
}

// One method's four families, read from one scrape.
struct Counts {
  double started = 0, received = 0, sent = 0;
  std::map<std::string, double> handled;  // by code; every code present
};

Counts counts(const std::string& scrape, const std::string& type, const std::string& service,
              const std::string& method) {
  std::map<std::string, std::string> labels{
      {"grpc_type", type}, {"grpc_service", service}, {"grpc_method", method}};
  Counts c;
  c.started = testing::sample(scrape, testing::series("grpc_server_started_total", labels));
  c.received = testing::sample(scrape, testing::series("grpc_server_msg_received_total", labels));
  c.sent = testing::sample(scrape, testing::series("grpc_server_msg_sent_total", labels));
  for (const char* code : kCodes) {
    auto with_code = labels;
    with_code["grpc_code"] = code;
    c.handled[code] =
        testing::sample(scrape, testing::series("grpc_server_handled_total", with_code));
  }
  return c;
}

// The handled counts other than zero, e.g. {{"OK", 3}}.
std::map<std::string, double> nonzero(const std::map<std::string, double>& handled) {
  std::map<std::string, double> out;
  for (const auto& [code, n] : handled)
    if (n != 0) out[code] = n;
  return out;
}

std::string type_of(const google::protobuf::MethodDescriptor& m) {
  if (m.client_streaming()) return m.server_streaming() ? "bidi_stream" : "client_stream";
  return m.server_streaming() ? "server_stream" : "unary";
}

TEST_CASE("gRPC metrics: every rpc.proto method is exported at zero before any call",
          "[etcdapi][grpc][metrics]") {
  testing::TempDir dir;
  testing::NodeProcess node(dir.sub("node"), {"--shards", "2", "--sync", "never"});
  auto scrape = testing::scrape_metrics(node.metrics_port());
  for (const char* family : {"grpc_server_started_total", "grpc_server_handled_total",
                             "grpc_server_msg_received_total", "grpc_server_msg_sent_total"})
    CHECK(scrape.find(std::string("# TYPE ") + family + " counter") != std::string::npos);

  const auto& file = *etcdserverpb::RangeRequest::descriptor()->file();
  int methods = 0;
  for (int s = 0; s < file.service_count(); ++s) {
    const auto* service = file.service(s);
    for (int m = 0; m < service->method_count(); ++m) {
      const auto* method = service->method(m);
      INFO(service->full_name() << "/" << method->name());
      auto c = counts(scrape, type_of(*method), service->full_name(), method->name());
      CHECK(c.started == 0);
      CHECK(c.received == 0);
      CHECK(c.sent == 0);
      for (const char* code : kCodes) {
        INFO(code);
        CHECK(c.handled[code] == 0);  // -1 would be a missing series
      }
      ++methods;
    }
  }
  CHECK(methods >= 24);  // KV 5, Watch 1, Lease 5, Maintenance 7, Cluster 5, Auth 1 so far
  // The types as etcd's dashboards filter them.
  CHECK(counts(scrape, "bidi_stream", "etcdserverpb.Lease", "LeaseKeepAlive").started == 0);
  CHECK(counts(scrape, "server_stream", "etcdserverpb.Maintenance", "Snapshot").started == 0);
  CHECK(counts(scrape, "bidi_stream", "etcdserverpb.Watch", "Watch").started == 0);
}

TEST_CASE("gRPC metrics: exact counts after known calls of every kind",
          "[etcdapi][grpc][metrics]") {
  testing::TempDir dir;
  testing::NodeProcess node(dir.sub("node"), {"--shards", "2", "--sync", "never"});
  auto channel = grpc::CreateChannel(node.grpc_endpoint(), grpc::InsecureChannelCredentials());
  auto kv = etcdserverpb::KV::NewStub(channel);
  auto lease = etcdserverpb::Lease::NewStub(channel);
  auto maintenance = etcdserverpb::Maintenance::NewStub(channel);

  // Unary: 3 puts answered, 1 refused (empty key), 1 range, 1 range that does not parse.
  for (int i = 0; i < 3; ++i) {
    etcdserverpb::PutRequest put;
    put.set_key("k" + std::to_string(i));
    put.set_value("v");
    etcdserverpb::PutResponse r;
    REQUIRE(kv->Put(context().get(), put, &r).ok());
  }
  {
    etcdserverpb::PutResponse r;
    auto s = kv->Put(context().get(), etcdserverpb::PutRequest{}, &r);
    REQUIRE(s.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    etcdserverpb::RangeRequest range;
    range.set_key("k0");
    etcdserverpb::RangeResponse got;
    REQUIRE(kv->Range(context().get(), range, &got).ok());
    REQUIRE(testing::raw_unary(channel, "/etcdserverpb.KV/Range", "\xff\xff").code ==
            grpc::StatusCode::INTERNAL);
  }
  // An unknown method.
  REQUIRE(testing::raw_unary(channel, "/etcdserverpb.KV/Nope", "").code ==
          grpc::StatusCode::UNIMPLEMENTED);

  // A server stream read to its end.
  int chunks = 0;
  {
    auto ctx = context();
    auto reader = maintenance->Snapshot(ctx.get(), etcdserverpb::SnapshotRequest{});
    etcdserverpb::SnapshotResponse chunk;
    while (reader->Read(&chunk))
      ++chunks;
    REQUIRE(reader->Finish().ok());
    REQUIRE(chunks >= 2);  // the tar, then the SHA-256
  }

  // Bidirectional: one stream of 3 keep-alives closed by the client, one cancelled.
  etcdserverpb::LeaseGrantRequest grant;
  grant.set_ttl(600);
  etcdserverpb::LeaseGrantResponse granted;
  REQUIRE(lease->LeaseGrant(context().get(), grant, &granted).ok());
  etcdserverpb::LeaseKeepAliveRequest keepalive;
  keepalive.set_id(granted.id());
  etcdserverpb::LeaseKeepAliveResponse renewed;
  {
    auto ctx = context();
    auto stream = lease->LeaseKeepAlive(ctx.get());
    for (int i = 0; i < 3; ++i) {
      REQUIRE(stream->Write(keepalive));
      REQUIRE(stream->Read(&renewed));
    }
    REQUIRE(stream->WritesDone());
    REQUIRE(!stream->Read(&renewed));
    REQUIRE(stream->Finish().ok());
  }
  {
    auto ctx = context();
    auto stream = lease->LeaseKeepAlive(ctx.get());
    REQUIRE(stream->Write(keepalive));
    REQUIRE(stream->Read(&renewed));
    ctx->TryCancel();
    stream->Finish();
  }

  // The cancelled stream ends on the server side when it hears of it.
  std::string scrape;
  for (auto deadline = std::chrono::steady_clock::now() + 30s;
       std::chrono::steady_clock::now() < deadline; std::this_thread::sleep_for(20ms)) {
    scrape = testing::scrape_metrics(node.metrics_port());
    if (counts(scrape, "bidi_stream", "etcdserverpb.Lease", "LeaseKeepAlive").handled["Canceled"] ==
        1)
      break;
  }

  auto put = counts(scrape, "unary", "etcdserverpb.KV", "Put");
  CHECK(put.started == 4);
  CHECK(put.received == 4);
  CHECK(put.sent == 3);
  CHECK(nonzero(put.handled) == std::map<std::string, double>{{"OK", 3}, {"InvalidArgument", 1}});

  // The unparsable range started and was handled, but no message was received.
  auto range = counts(scrape, "unary", "etcdserverpb.KV", "Range");
  CHECK(range.started == 2);
  CHECK(range.received == 1);
  CHECK(range.sent == 1);
  CHECK(nonzero(range.handled) == std::map<std::string, double>{{"OK", 1}, {"Internal", 1}});

  auto nope = counts(scrape, "unknown", "etcdserverpb.KV", "Nope");
  CHECK(nope.started == 1);
  CHECK(nope.received == 0);
  CHECK(nope.sent == 0);
  CHECK(nonzero(nope.handled) == std::map<std::string, double>{{"Unimplemented", 1}});

  auto snapshot = counts(scrape, "server_stream", "etcdserverpb.Maintenance", "Snapshot");
  CHECK(snapshot.started == 1);
  CHECK(snapshot.received == 1);
  CHECK(snapshot.sent == chunks);
  CHECK(nonzero(snapshot.handled) == std::map<std::string, double>{{"OK", 1}});

  auto keepalives = counts(scrape, "bidi_stream", "etcdserverpb.Lease", "LeaseKeepAlive");
  CHECK(keepalives.started == 2);
  CHECK(keepalives.received == 4);
  CHECK(keepalives.sent == 4);
  CHECK(nonzero(keepalives.handled) == std::map<std::string, double>{{"OK", 1}, {"Canceled", 1}});

  auto grants = counts(scrape, "unary", "etcdserverpb.Lease", "LeaseGrant");
  CHECK(grants.started == 1);
  CHECK(nonzero(grants.handled) == std::map<std::string, double>{{"OK", 1}});

  // A method nobody called stays at zero.
  CHECK(counts(scrape, "unary", "etcdserverpb.KV", "Compact").started == 0);
}

TEST_CASE("gRPC metrics: a Watch stream's messages, and its cancellation",
          "[etcdapi][grpc][metrics][watch]") {
  testing::TempDir dir;
  testing::NodeProcess node(dir.sub("node"), {"--shards", "2", "--sync", "never"});
  auto channel = grpc::CreateChannel(node.grpc_endpoint(), grpc::InsecureChannelCredentials());
  auto kv = etcdserverpb::KV::NewStub(channel);
  auto watch = etcdserverpb::Watch::NewStub(channel);

  auto ctx = context();
  auto stream = watch->Watch(ctx.get());
  etcdserverpb::WatchRequest create;
  create.mutable_create_request()->set_key("w");
  REQUIRE(stream->Write(create));
  etcdserverpb::WatchResponse in;
  REQUIRE(stream->Read(&in));
  REQUIRE(in.created());
  etcdserverpb::PutRequest put;
  put.set_key("w");
  put.set_value("v");
  etcdserverpb::PutResponse put_response;
  REQUIRE(kv->Put(context().get(), put, &put_response).ok());
  REQUIRE(stream->Read(&in));
  REQUIRE(in.events_size() == 1);
  ctx->TryCancel();
  stream->Finish();

  Counts watches;
  for (auto deadline = std::chrono::steady_clock::now() + 30s;
       std::chrono::steady_clock::now() < deadline; std::this_thread::sleep_for(20ms)) {
    watches = counts(testing::scrape_metrics(node.metrics_port()), "bidi_stream",
                     "etcdserverpb.Watch", "Watch");
    if (watches.handled["Canceled"] == 1) break;
  }
  CHECK(watches.started == 1);
  CHECK(watches.received == 1);
  CHECK(watches.sent == 2);  // created, then the event
  CHECK(nonzero(watches.handled) == std::map<std::string, double>{{"Canceled", 1}});
}

TEST_CASE("gRPC metrics: made-up method names share one series past 64",
          "[etcdapi][grpc][metrics]") {
  testing::TempDir dir;
  testing::NodeProcess node(dir.sub("node"), {"--shards", "1", "--sync", "never"});
  auto channel = grpc::CreateChannel(node.grpc_endpoint(), grpc::InsecureChannelCredentials());
  for (int i = 0; i < 100; ++i) {
    REQUIRE(testing::raw_unary(channel, "/made.Up/M" + std::to_string(i), "").code ==
            grpc::StatusCode::UNIMPLEMENTED);
  }
  auto scrape = testing::scrape_metrics(node.metrics_port());
  int own = 0;
  for (int i = 0; i < 100; ++i)
    own += counts(scrape, "unknown", "made.Up", "M" + std::to_string(i)).started == 1;
  CHECK(own == 64);
  CHECK(counts(scrape, "unknown", "unknown", "unknown").started == 36);
  CHECK(counts(scrape, "unknown", "unknown", "unknown").handled["Unimplemented"] == 36);
}

}  // namespace
}  // namespace revkv
