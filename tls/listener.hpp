#pragma once

// A TLS listening socket with its own I/O threads: accepts, terminates TLS (tls/
// terminator.hpp) and hands each plaintext end to `handoff`. revkvd puts it in front of
// the MessagePack door, whose CAF broker then adopts the descriptor as if it had accepted
// it; the client port has its own listener (etcdapi/client_listener.hpp) and uses a
// Terminator directly.

#include "tls/terminator.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace revkv::tls {

// Opens `acceptor` on host:port (a numeric address; SO_REUSEADDR) and listens; returns
// the port bound (port 0: the one the kernel picked). Throws std::runtime_error
// "cannot listen on HOST:PORT: <why>".
uint16_t listen_on(boost::asio::ip::tcp::acceptor& acceptor, const std::string& host,
                   uint16_t port);

class Listener {
 public:
  // Binds `host`:`port` (0: a free port) and starts accepting. Throws std::runtime_error
  // with the system's reason when it cannot bind.
  Listener(const std::string& host, uint16_t port, std::shared_ptr<ServerCredentials> credentials,
           std::string door, Terminator::Limits limits, size_t threads,
           Terminator::Handoff handoff);
  // The same, handing off the verified client certificate too (the peer port).
  Listener(const std::string& host, uint16_t port, std::shared_ptr<ServerCredentials> credentials,
           std::string door, Terminator::Limits limits, size_t threads,
           Terminator::PeerHandoff handoff);
  ~Listener();
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  uint16_t port() const { return port_; }
  // Connections between accept and handoff.
  size_t handshaking() const { return terminator_.handshaking(); }
  // Stops accepting and handshaking; relays go on until their connections end or the
  // listener is destroyed. Idempotent.
  void stop();

 private:
  void accept();

  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  Terminator terminator_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer accept_pause_;
  uint16_t port_ = 0;
  std::vector<std::thread> threads_;
};

}  // namespace revkv::tls
