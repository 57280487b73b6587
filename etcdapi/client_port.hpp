#pragma once

// Everything behind revkvd's client port besides the gRPC services: the I/O threads, the
// listener that tells gRPC from HTTP/1.1 connections, and the JSON gateway.

#include "etcdapi/client_listener.hpp"
#include "etcdapi/gateway.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace grpc {
class Server;
}

namespace revkv::etcdapi {

class ClientPort {
 public:
  // `server` is started and has no listening port of its own; it outlives this.
  // `http2`: who takes the HTTP/2 connections (revkv's own door); empty: gRPC's server.
  ClientPort(grpc::Server& server, const std::string& host, uint16_t port, size_t io_threads,
             ClientListener::Limits listener_limits, gateway::Limits gateway_limits,
             gateway::NodeProbes probes, std::shared_ptr<tls::ServerCredentials> tls = nullptr,
             auth::CertificateNames* names = nullptr,
             gateway::Gateway::CertificateCheck gateway_refuses = {},
             ClientListener::GrpcHandoff http2 = {});
  ~ClientPort();
  ClientPort(const ClientPort&) = delete;
  ClientPort& operator=(const ClientPort&) = delete;

  uint16_t port() const { return listener_->port(); }

  // Shutdown, in two steps around the gRPC server's: first no new connection and no open
  // HTTP connection (their calls cancelled), then, once the server stopped, the wait for
  // the gateway's calls to end and the I/O threads. Both idempotent.
  void stop_serving();
  void finish();

 private:
  grpc::Server& server_;
  gateway::Gateway gateway_;
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::unique_ptr<ClientListener> listener_;
  std::vector<std::thread> threads_;
};

}  // namespace revkv::etcdapi
