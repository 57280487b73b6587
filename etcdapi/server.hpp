#pragma once

// revkvd's client port (--listen-grpc): a grpc::Server with etcd's KV, Watch, Lease,
// Maintenance, Cluster and Auth services and the door actors that carry their calls onto
// the request path, and on the same port etcd's JSON gateway, which calls those services
// in-process (etcdapi/client_port.hpp). Start it after the node, stop it before the node:
// stopping waits for the calls in flight, which the doors answer.

#include "actors/node.hpp"
#include "etcdapi/grpc_engine.hpp"

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace grpc {
class Server;
}
namespace revkv::tls {
class ServerCredentials;
}

namespace revkv::etcdapi {

class AuthService;
class ClientPort;
class ClusterService;
class Doors;
class KvService;
class LeaseService;
class MaintenanceService;
class WatchService;

class Http2Door;

class GrpcServer {
 public:
  // Throws std::runtime_error when the address cannot be bound. Port 0 picks a free port.
  // `tls`: nullptr for plaintext; else the port accepts TLS only (docs/SECURITY.md).
  // `http2_loops`: the HTTP/2 door's event loop threads; 0: one per four cores, at least one.
  // `metrics_text`: what GET /metrics on the port answers (the node's metrics, as on
  // --listen-metrics); empty: 404. Called on the gateway's threads.
  GrpcServer(caf::actor_system& sys, const actors::Node& node, const std::string& host,
             uint16_t port, size_t doors, std::shared_ptr<tls::ServerCredentials> tls = nullptr,
             GrpcEngine engine = GrpcEngine::nghttp2, size_t http2_loops = 0,
             std::function<std::string()> metrics_text = {});
  ~GrpcServer();
  GrpcServer(const GrpcServer&) = delete;
  GrpcServer& operator=(const GrpcServer&) = delete;

  uint16_t port() const { return port_; }
  // The node failed: the doors answer every waiting call Unavailable.
  void fail(const std::string& reason);
  // Leadership lost with writes in flight (actors/leadership_drain.hpp): the doors answer
  // every waiting call `etcdserver: leader changed`, and the drain behind `hold` also waits
  // until gRPC is done with the calls finished from now on. Any thread.
  void drain(const actors::DrainHoldPtr& hold);
  // Refuses new calls, finishes those in flight (or cancels them after a grace period),
  // then stops the doors. Idempotent.
  void stop();

 private:
  std::vector<caf::actor> doors_;
  // Declared before the services, which hold a reference to it.
  std::unique_ptr<Doors> pool_;
  std::unique_ptr<KvService> kv_;
  std::unique_ptr<LeaseService> lease_;
  std::unique_ptr<MaintenanceService> maintenance_;
  std::unique_ptr<ClusterService> cluster_;
  std::unique_ptr<AuthService> auth_;
  std::unique_ptr<WatchService> watch_;
  std::unique_ptr<grpc::Server> server_;
  // With GrpcEngine::nghttp2: the HTTP/2 connections' door (its relayed calls go to server_).
  std::unique_ptr<Http2Door> http2_;
  // The listening socket, HTTP/2 handed to http2_ (or server_), HTTP/1.1 to the gateway.
  std::unique_ptr<ClientPort> client_port_;
  uint16_t port_ = 0;
};

}  // namespace revkv::etcdapi
