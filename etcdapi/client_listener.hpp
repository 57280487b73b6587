#pragma once

// revkvd's client port (--listen-grpc): one listening socket for gRPC and for etcd's JSON
// gateway, as etcd serves both on its client URL. Each accepted connection is sniffed
// without reading it: once its first bytes can be peeked (recv with MSG_PEEK), HTTP/2's
// client preface ("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n") hands the socket to the gRPC server,
// anything else to the gateway. The waiting is asynchronous, so a client that sends
// nothing delays no one, and it is closed at the sniffing deadline.
//
// With TLS (--cert-file), every accepted connection first goes through a TLS terminator
// (tls/terminator.hpp): the sniffing then happens on the plaintext end it hands over, so
// gRPC and the gateway are served exactly as without TLS (docs/SECURITY.md).

#include "auth/certificate_names.hpp"
#include "tls/listener.hpp"
#include "tls/terminator.hpp"
#include "util/oldest_first.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace revkv::etcdapi {

class ClientListener {
 public:
  struct Limits {
    // How long a new connection may stay silent before it is closed.
    std::chrono::milliseconds sniff_deadline{10'000};
    // Connections still being sniffed; a new one beyond it closes the oldest.
    size_t max_sniffing = 1024;
  };
  // Each gets the connection's descriptor or socket to own; called on an I/O thread.
  using GrpcHandoff = std::function<void(int fd)>;
  using HttpHandoff = std::function<void(boost::asio::ip::tcp::socket)>;

  // Binds and starts accepting on `io`'s threads. Throws std::runtime_error when the
  // address cannot be bound. Port 0 picks a free port.
  // `tls`: nullptr for plaintext; else only TLS is accepted, with those certificates.
  // `names`: where the verified client-certificate CN of each TLS connection is recorded
  // before it is handed over (null: nowhere); it outlives this.
  ClientListener(boost::asio::io_context& io, const std::string& host, uint16_t port, Limits limits,
                 GrpcHandoff grpc, HttpHandoff http,
                 std::shared_ptr<tls::ServerCredentials> tls = nullptr,
                 auth::CertificateNames* names = nullptr);
  ~ClientListener();
  ClientListener(const ClientListener&) = delete;
  ClientListener& operator=(const ClientListener&) = delete;

  uint16_t port() const { return port_; }
  // Stops accepting and closes the connections not handed off yet; no handoff starts
  // after it returns. Idempotent.
  void stop();

 private:
  class Sniff;

  void accept();
  void sniff(boost::asio::ip::tcp::socket socket);
  // The plaintext end of a TLS connection, from the terminator.
  void sniff_plaintext(int fd);
  // Called by a Sniff once it knows; false when stopped (the Sniff closes the socket).
  bool hand_off(Sniff* sniff, bool http2, boost::asio::ip::tcp::socket& socket);
  void forget(Sniff* sniff);

  boost::asio::io_context& io_;
  Limits limits_;
  GrpcHandoff grpc_;
  HttpHandoff http_;
  boost::asio::ip::tcp::acceptor acceptor_;
  // On the acceptor's strand: the pause after a failed accept.
  boost::asio::steady_timer accept_pause_;
  tls::DescriptorGate descriptors_{"client port"};  // on the acceptor's strand
  uint16_t port_ = 0;
  std::mutex mutex_;
  bool stopped_ = false;
  util::OldestFirst<Sniff> sniffing_;
  std::unique_ptr<tls::Terminator> terminator_;  // with TLS only
};

}  // namespace revkv::etcdapi
