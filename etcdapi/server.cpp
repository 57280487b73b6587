#include "etcdapi/server.hpp"

#include "actors/messages.hpp"
#include "etcdapi/auth_service.hpp"
#include "etcdapi/cluster_service.hpp"
#include "etcdapi/doors.hpp"
#include "etcdapi/grpc_door.hpp"
#include "etcdapi/kv_service.hpp"
#include "etcdapi/lease_service.hpp"
#include "etcdapi/maintenance_service.hpp"
#include "etcdapi/watch_service.hpp"

#include <caf/all.hpp>

#include <chrono>
#include <grpcpp/grpcpp.h>
#include <limits>
#include <stdexcept>

namespace revkv::etcdapi {

namespace {
// etcd accepts messages up to --max-request-bytes plus this much gRPC framing.
constexpr size_t kGrpcOverheadBytes = 512 * 1024;
}  // namespace

GrpcServer::GrpcServer(caf::actor_system& sys, const actors::Node& node, const std::string& host,
                       uint16_t port, size_t doors) {
  const auto& ctx = node.context();
  for (size_t i = 0; i < std::max<size_t>(1, doors); ++i)
    doors_.push_back(spawn_grpc_door(sys, ctx, node.routes()));
  pool_ = std::make_unique<Doors>(doors_);
  kv_ = std::make_unique<KvService>(ctx, *pool_);
  lease_ = std::make_unique<LeaseService>(ctx, *pool_);
  maintenance_ = std::make_unique<MaintenanceService>(ctx, *pool_);
  cluster_ = std::make_unique<ClusterService>(ctx);
  auth_ = std::make_unique<AuthService>(ctx);
  watch_ = std::make_unique<WatchService>(sys, ctx, node.routes());

  grpc::ServerBuilder builder;
  int selected = 0;
  builder.AddListeningPort(host + ":" + std::to_string(port), grpc::InsecureServerCredentials(),
                           &selected);
  builder.SetMaxReceiveMessageSize(
      static_cast<int>(ctx->options.max_request_bytes + kGrpcOverheadBytes));
  builder.SetMaxSendMessageSize(std::numeric_limits<int>::max());
  builder.RegisterService(kv_.get());
  builder.RegisterService(lease_.get());
  builder.RegisterService(maintenance_.get());
  builder.RegisterService(cluster_.get());
  builder.RegisterService(auth_.get());
  builder.RegisterService(watch_.get());
  server_ = builder.BuildAndStart();
  if (!server_ || selected == 0) {
    stop();
    throw std::runtime_error("cannot listen on " + host + ":" + std::to_string(port));
  }
  port_ = static_cast<uint16_t>(selected);
  cluster_->set_client_url("http://" + host + ":" + std::to_string(port_));
}

GrpcServer::~GrpcServer() {
  stop();
}

void GrpcServer::stop() {
  if (server_) {
    // Watch and LeaseKeepAlive streams never end by themselves: end them (and any opened
    // from now on), so that the shutdown below waits only for calls that finish.
    watch_->close_all(grpc::Status(grpc::StatusCode::UNAVAILABLE, "etcdserver: server stopped"));
    lease_->cancel_streams();
    // The doors are still running, so every call in flight gets its answer.
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
    server_->Wait();
    server_.reset();
  }
  for (auto& door : doors_)
    caf::anon_send_exit(door, caf::exit_reason::user_shutdown);
  doors_.clear();
}

void GrpcServer::fail(const std::string& reason) {
  for (const auto& door : doors_)
    caf::anon_send(door, actors::node_failed_atom::value, reason);
  if (watch_) watch_->close_all(grpc::Status(grpc::StatusCode::UNAVAILABLE, reason));
}

}  // namespace revkv::etcdapi
