#include "tls/listener.hpp"

#include "util/open_files.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <future>
#include <stdexcept>

namespace revkv::tls {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {
// How long accepting pauses after it failed (EMFILE, ENOBUFS, ...): at once would spin.
constexpr std::chrono::milliseconds kAcceptPause{100};
constexpr std::chrono::seconds kDescriptorWarningEvery{10};
}  // namespace

bool DescriptorGate::refuses(tcp::socket& socket) {
  if (util::client_descriptor_budget().admits(socket.native_handle())) return false;
  boost::system::error_code ignored;
  socket.close(ignored);
  // Once per burst, not once per connection: a flood would fill the log.
  const auto now = std::chrono::steady_clock::now();
  if (now - last_warning_ >= kDescriptorWarningEvery) {
    last_warning_ = now;
    spdlog::warn(
        "{}: closed a new connection: it would take the open-file descriptors kept for the "
        "node's own files (util/open_files.hpp); raise the hard open-file limit "
        "for more clients",
        door_);
  }
  return true;
}

uint16_t listen_on(tcp::acceptor& acceptor, const std::string& host, uint16_t port) {
  boost::system::error_code ec;
  tcp::resolver resolver(acceptor.get_executor());
  const auto found = resolver.resolve(host, std::to_string(port),
                                      tcp::resolver::passive | tcp::resolver::numeric_service, ec);
  const std::string where = host + ":" + std::to_string(port);
  if (ec || found.empty()) throw std::runtime_error("cannot listen on " + where);
  const tcp::endpoint endpoint = found.begin()->endpoint();
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) throw std::runtime_error("cannot listen on " + where + ": " + ec.message());
  return acceptor.local_endpoint().port();
}

Listener::Listener(const std::string& host, uint16_t port,
                   std::shared_ptr<ServerCredentials> credentials, std::string door,
                   Terminator::Limits limits, size_t threads, Terminator::Handoff handoff)
    : Listener(host, port, std::move(credentials), std::move(door), limits, threads,
               Terminator::PeerHandoff(
                   [handoff = std::move(handoff)](int fd, const Terminator::Peer& h) {
                     handoff(fd, h.alpn);
                   })) {}

Listener::Listener(const std::string& host, uint16_t port,
                   std::shared_ptr<ServerCredentials> credentials, std::string door,
                   Terminator::Limits limits, size_t threads, Terminator::PeerHandoff handoff)
    : work_(asio::make_work_guard(io_)),
      terminator_(credentials, door, limits, handoff),
      plaintext_(credentials == nullptr),
      handoff_(std::move(handoff)),
      gate_(std::move(door)),
      acceptor_(asio::make_strand(io_)),
      accept_pause_(acceptor_.get_executor()) {
  port_ = listen_on(acceptor_, host, port);
  accept();
  for (size_t i = 0; i < std::max<size_t>(1, threads); ++i)
    threads_.emplace_back([this] { io_.run(); });
}

Listener::~Listener() {
  stop();
  work_.reset();
  io_.stop();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
}

void Listener::accept() {
  acceptor_.async_accept(asio::make_strand(io_),
                         [this](boost::system::error_code ec, tcp::socket socket) {
                           if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
                           if (!ec) {
                             if (gate_.refuses(socket)) return accept();
                             if (plaintext_)
                               handoff_(socket.release(), Terminator::Peer{});
                             else
                               terminator_.adopt(std::move(socket));
                             return accept();
                           }
                           accept_pause_.expires_after(kAcceptPause);
                           accept_pause_.async_wait([this](boost::system::error_code wait_ec) {
                             if (!wait_ec && acceptor_.is_open()) accept();
                           });
                         });
}

void Listener::stop() {
  terminator_.stop();
  auto closed = std::make_shared<std::promise<void>>();
  auto done = closed->get_future();
  asio::post(acceptor_.get_executor(), [this, closed] {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    accept_pause_.cancel();
    closed->set_value();
  });
  done.wait_for(std::chrono::seconds(5));
}

}  // namespace revkv::tls
