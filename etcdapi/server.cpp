#include "etcdapi/server.hpp"

#include "actors/messages.hpp"
#include "etcdapi/auth_service.hpp"
#include "etcdapi/client_port.hpp"
#include "etcdapi/cluster_service.hpp"
#include "etcdapi/doors.hpp"
#include "etcdapi/grpc_door.hpp"
#include "etcdapi/h2_door.hpp"
#include "etcdapi/interceptors.hpp"
#include "etcdapi/kv_service.hpp"
#include "etcdapi/lease_service.hpp"
#include "etcdapi/maintenance_service.hpp"
#include "etcdapi/watch_service.hpp"

#include <caf/all.hpp>

#include <chrono>
#include <grpcpp/grpcpp.h>
#include <limits>
#include <stdexcept>
#include <thread>

namespace revkv::etcdapi {

namespace {
// etcd accepts messages up to --max-request-bytes plus this much gRPC framing.
constexpr size_t kGrpcOverheadBytes = 512 * 1024;
// Unary answer bytes a client connection may leave unread before its calls are refused:
// the MessagePack door's output limit per connection.
constexpr uint64_t kUnsentAnswerBytes = 8u << 20;
// The gateway's I/O threads: JSON work is light next to the request path's.
constexpr size_t kGatewayThreads = 2;
}  // namespace

GrpcServer::GrpcServer(caf::actor_system& sys, const actors::Node& node, const std::string& host,
                       uint16_t port, size_t doors, std::shared_ptr<tls::ServerCredentials> tls,
                       GrpcEngine engine, size_t http2_loops,
                       std::function<std::string()> metrics_text) {
  const auto& ctx = node.context();
  const bool secure = tls != nullptr;
  for (size_t i = 0; i < std::max<size_t>(1, doors); ++i)
    doors_.push_back(spawn_grpc_door(sys, ctx, node.routes()));
  pool_ = std::make_unique<Doors>(doors_, kUnsentAnswerBytes);
  kv_ = std::make_unique<KvService>(ctx, *pool_);
  lease_ = std::make_unique<LeaseService>(ctx, *pool_);
  maintenance_ = std::make_unique<MaintenanceService>(ctx, *pool_);
  cluster_ = std::make_unique<ClusterService>(ctx);
  auth_ = std::make_unique<AuthService>(ctx);
  watch_ = std::make_unique<WatchService>(sys, ctx, node.routes());

  // No listening port of its own: ClientPort accepts and hands HTTP/2 connections over.
  grpc::ServerBuilder builder;
  builder.SetMaxReceiveMessageSize(
      static_cast<int>(ctx->options.max_request_bytes + kGrpcOverheadBytes));
  builder.SetMaxSendMessageSize(std::numeric_limits<int>::max());
  auto grpc_metrics = ctx->metrics
                          ? std::make_shared<metrics::GrpcServerMetrics>(ctx->metrics->registry())
                          : nullptr;
  builder.experimental().SetInterceptorCreators(make_interceptors(grpc_metrics));
  builder.RegisterService(kv_.get());
  builder.RegisterService(lease_.get());
  builder.RegisterService(maintenance_.get());
  builder.RegisterService(cluster_.get());
  builder.RegisterService(auth_.get());
  builder.RegisterService(watch_.get());
  server_ = builder.BuildAndStart();
  if (!server_) {
    stop();
    throw std::runtime_error("cannot start the gRPC server for " + host + ":" +
                             std::to_string(port));
  }
  if (engine == GrpcEngine::nghttp2) {
    Http2Door::Options h2;
    h2.max_message_bytes = ctx->options.max_request_bytes + kGrpcOverheadBytes;
    h2.unsent_answer_limit = kUnsentAnswerBytes;
    h2.watch = watch_.get();
    // One loop thread serves about 150,000 small calls/s (6 µs each, docs/BENCHMARKS.md
    // "The floor of a gRPC door"); the request path behind it needs the other cores.
    h2.loops = http2_loops > 0 ? http2_loops
                               : std::max<size_t>(1, std::thread::hardware_concurrency() / 4);
    http2_ = std::make_unique<Http2Door>(server_->InProcessChannel(grpc::ChannelArguments()), ctx,
                                         *pool_, grpc_metrics, h2);
  }
  gateway::Limits gateway_limits;
  // A put of --max-request-bytes of value is base64 in JSON: 4/3 of it, plus the rest.
  gateway_limits.max_body_bytes = ctx->options.max_request_bytes * 2 + kGrpcOverheadBytes;
  gateway_limits.max_message_bytes = ctx->options.max_request_bytes + kGrpcOverheadBytes;
  try {
    client_port_ = std::make_unique<ClientPort>(
        *server_, host, port, kGatewayThreads, ClientListener::Limits{}, gateway_limits,
        gateway::NodeProbes{[ctx] {
                              // etcd's /health: false on an alarm.
                              return !ctx->failure.failed() && !ctx->nospace_alarm.load();
                            },
                            std::move(metrics_text)},
        std::move(tls), &ctx->certificate_names,
        [ctx](int fd) {
          // etcd refuses a gateway request whose certificate has a CN once auth is on.
          if (!ctx->auth || !ctx->auth->enabled() || !ctx->certificate_names.recording())
            return false;
          const auto cn = ctx->certificate_names.of_fd(fd);
          return cn && !cn->empty();
        },
        http2_ ? ClientListener::GrpcHandoff([door = http2_.get()](int fd) { door->adopt(fd); })
               : ClientListener::GrpcHandoff());
  } catch (...) {
    stop();
    throw;
  }
  port_ = client_port_->port();
  cluster_->set_client_url((secure ? "https://" : "http://") + host + ":" + std::to_string(port_));
}

GrpcServer::~GrpcServer() {
  stop();
}

void GrpcServer::stop() {
  // No new connection, and the gateway's connections closed (their streams cancelled).
  if (client_port_) client_port_->stop_serving();
  if (http2_) http2_->refuse_new_streams();
  if (server_) {
    // Watch and LeaseKeepAlive streams never end by themselves: end them (and any opened
    // from now on), so that the shutdown below waits only for calls that finish.
    watch_->close_all(grpc::Status(grpc::StatusCode::UNAVAILABLE, "etcdserver: server stopped"));
    lease_->cancel_streams();
    if (http2_) http2_->cancel_keepalives();
    // The HTTP/2 door's relayed calls read their answers through gRPC's in-process channel,
    // which the server's shutdown closes ("Transport closed"): they end first, each once
    // its service has answered and the relay has read it all (a member answering its own
    // removal, then stopping).
    if (http2_) http2_->wait_relays(std::chrono::steady_clock::now() + std::chrono::seconds(5));
    // The doors are still running, so every call in flight gets its answer.
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
    server_->Wait();
  }
  // The door's own calls are answered by the doors, still running; its relayed calls ended
  // with the server.
  if (http2_) http2_->finish(std::chrono::steady_clock::now() + std::chrono::seconds(5));
  http2_.reset();
  // The gateway's calls have ended with the server; then its threads, then the server
  // (the gateway's in-process channel leads to it).
  if (client_port_) client_port_->finish();
  client_port_.reset();
  server_.reset();
  for (auto& door : doors_)
    caf::anon_send_exit(door, caf::exit_reason::user_shutdown);
  doors_.clear();
}

void GrpcServer::drain(const actors::DrainHoldPtr& hold) {
  auto finishing = pool_->answers().start_drain();
  hold->signal().also_wait_for([finishing](auto) { return finishing->load() <= 0; });
  // The HTTP/2 door's connections: their clients open no new stream on them, and the drain
  // waits until none holds a request unread or unanswered, or an answer unsent, as the
  // MessagePack door keeps its hold while its client's bytes wait unread. A request that
  // reached a socket just before the restart would otherwise be cut by it ("transport is
  // closing") rather than answered `leader changed`.
  if (http2_) hold->signal().also_wait_for(http2_->begin_drain());
  for (const auto& door : doors_)
    caf::anon_send(door, actors::leader_lost_atom::value, hold);
}

void GrpcServer::fail(const std::string& reason) {
  for (const auto& door : doors_)
    caf::anon_send(door, actors::node_failed_atom::value, reason);
  if (watch_) watch_->close_all(grpc::Status(grpc::StatusCode::UNAVAILABLE, reason));
}

}  // namespace revkv::etcdapi
