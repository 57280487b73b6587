#include "etcdapi/client_port.hpp"

#include <chrono>
#include <grpcpp/server.h>
#include <grpcpp/server_posix.h>

namespace revkv::etcdapi {

ClientPort::ClientPort(grpc::Server& server, const std::string& host, uint16_t port,
                       size_t io_threads, ClientListener::Limits listener_limits,
                       gateway::Limits gateway_limits, gateway::NodeProbes probes,
                       std::shared_ptr<tls::ServerCredentials> tls, auth::CertificateNames* names,
                       gateway::Gateway::CertificateCheck gateway_refuses,
                       ClientListener::GrpcHandoff http2)
    : server_(server),
      gateway_(server, gateway_limits, std::move(probes), std::move(gateway_refuses)),
      work_(boost::asio::make_work_guard(io_)) {
  listener_ = std::make_unique<ClientListener>(
      io_, host, port, listener_limits,
      http2 ? std::move(http2) : ClientListener::GrpcHandoff([this](int fd) {
        grpc::AddInsecureChannelFromFd(&server_, fd);
      }),
      [this](boost::asio::ip::tcp::socket socket) { gateway_.serve(std::move(socket)); },
      std::move(tls), names);
  for (size_t i = 0; i < std::max<size_t>(1, io_threads); ++i)
    threads_.emplace_back([this] { io_.run(); });
}

ClientPort::~ClientPort() {
  stop_serving();
  finish();
}

void ClientPort::stop_serving() {
  if (listener_) listener_->stop();
  gateway_.close_all();
}

void ClientPort::finish() {
  // The gRPC server has stopped, so every call ends; their callbacks post onto io_.
  gateway_.wait_calls(std::chrono::seconds(10));
  work_.reset();
  io_.stop();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
}

}  // namespace revkv::etcdapi
