#pragma once

// etcd's JSON gateway (grpc-gateway's paths and JSON) on revkvd's client port: HTTP/1.1
// connections that ClientListener found not to be gRPC, served by calling the gRPC
// services through the server's in-process channel.

#include "etcdapi/gateway_call.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <grpcpp/generic/generic_stub.h>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace grpc {
class Server;
}

namespace revkv::etcdapi::gateway {

// What the client port answers about the node itself, beside the API.
struct NodeProbes {
  // GET /health: false while the node failed or an alarm is raised.
  std::function<bool()> healthy;
  // GET /metrics: the node's metrics in Prometheus's text format, as on --listen-metrics
  // (etcd serves /metrics on its client URLs too, and its scrape configs point there).
  // Empty: 404.
  std::function<std::string()> metrics;
};

struct Limits {
  // Open HTTP connections; one more is closed at once.
  size_t max_connections = 1024;
  // A request's body: --max-request-bytes plus the room JSON and base64 take.
  size_t max_body_bytes = 0;
  // A request as protobuf: what the gRPC server takes (0: no bound of the gateway's own).
  // etcd's gateway hands a larger one to its gRPC server, which refuses it in grpc-go's
  // words; this gateway refuses it in the same words before calling.
  size_t max_message_bytes = 0;
  size_t max_header_bytes = 16 * 1024;
  // Waiting for (the rest of) a request, idle keep-alive connections included.
  std::chrono::milliseconds idle{60'000};
  // Writing one answer or one streamed message to a client that does not read.
  std::chrono::milliseconds write{30'000};
};

class Session;

class Gateway {
 public:
  // Whether the /v3/ requests of the connection on a descriptor are refused because its
  // client certificate names a user (etcd's gateway, with --client-cert-auth and auth
  // enabled, answers them 400: it could not act as that user).
  using CertificateCheck = std::function<bool(int fd)>;

  Gateway(grpc::Server& server, Limits limits, NodeProbes probes,
          CertificateCheck refuses_certificate = {});
  ~Gateway();
  Gateway(const Gateway&) = delete;
  Gateway& operator=(const Gateway&) = delete;

  // A connection whose first bytes are not HTTP/2's preface.
  void serve(boost::asio::ip::tcp::socket socket);
  // Closes every connection and cancels their calls; later connections are closed at once.
  void close_all();
  // Waits (up to `limit`) until no call of the gateway is in flight. After the gRPC server
  // stopped, every call ends promptly.
  bool wait_calls(std::chrono::milliseconds limit);

  // For the sessions.
  grpc::GenericStub& stub() { return *stub_; }
  const Limits& limits() const { return limits_; }
  const NodeProbes& probes() const { return probes_; }
  bool refuses_certificate(int fd) const {
    return refuses_certificate_ && refuses_certificate_(fd);
  }
  CallToken call_token();
  void forget(const Session* session);

 private:
  void call_ended();

  Limits limits_;
  NodeProbes probes_;
  CertificateCheck refuses_certificate_;
  std::unique_ptr<grpc::GenericStub> stub_;
  std::mutex mutex_;
  std::condition_variable calls_done_;
  size_t calls_ = 0;
  bool closed_ = false;
  std::unordered_map<const Session*, std::weak_ptr<Session>> sessions_;
};

}  // namespace revkv::etcdapi::gateway
