#pragma once

// A TLS listening socket with its own I/O threads: accepts, terminates TLS (tls/
// terminator.hpp) and hands each plaintext end to `handoff`. revkvd puts it in front of
// the MessagePack door, whose CAF broker then adopts the descriptor as if it had accepted
// it (also without TLS: CAF 0.17's own acceptor retries a failed accept at once, spinning a
// thread while the process is out of descriptors); the client port has its own listener
// (etcdapi/client_listener.hpp) and uses a Terminator directly.

#include "tls/terminator.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
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

// Closes a connection just accepted when it would take the descriptors kept for the
// node's own files (util::client_descriptor_budget(); RocksDB without them is a fatal
// storage error): the client sees its connection closed and may try again. Logs it at most
// once per 10 s. Used on one listener's accepting strand.
class DescriptorGate {
 public:
  explicit DescriptorGate(std::string door) : door_(std::move(door)) {}
  // Whether `socket` was closed.
  bool refuses(boost::asio::ip::tcp::socket& socket);

 private:
  const std::string door_;
  std::chrono::steady_clock::time_point last_warning_{};
};

// With null `credentials`, a plaintext listener: each accepted socket goes to the handoff
// as it is (an empty Peer).
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
  const bool plaintext_;
  Terminator::PeerHandoff handoff_;  // plaintext: the handoff of each accepted socket
  DescriptorGate gate_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer accept_pause_;
  uint16_t port_ = 0;
  std::vector<std::thread> threads_;
};

}  // namespace revkv::tls
