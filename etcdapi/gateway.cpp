#include "etcdapi/gateway.hpp"

#include "etcdapi/gateway_session.hpp"

#include <grpcpp/server.h>
#include <vector>

namespace revkv::etcdapi::gateway {

Gateway::Gateway(grpc::Server& server, Limits limits, NodeProbes probes,
                 CertificateCheck refuses_certificate)
    : limits_(limits),
      probes_(std::move(probes)),
      refuses_certificate_(std::move(refuses_certificate)),
      stub_(
          std::make_unique<grpc::GenericStub>(server.InProcessChannel(grpc::ChannelArguments()))) {}

Gateway::~Gateway() = default;

void Gateway::serve(boost::asio::ip::tcp::socket socket) {
  std::unique_lock lock(mutex_);
  if (closed_ || sessions_.size() >= limits_.max_connections) {
    lock.unlock();
    boost::system::error_code ignored;
    socket.close(ignored);
    return;
  }
  auto session = std::make_shared<Session>(std::move(socket), *this);
  sessions_.emplace(session.get(), session);
  lock.unlock();
  session->start();
}

void Gateway::close_all() {
  std::vector<std::shared_ptr<Session>> open;
  {
    std::lock_guard lock(mutex_);
    closed_ = true;
    for (auto& [key, weak] : sessions_)
      if (auto s = weak.lock()) open.push_back(std::move(s));
  }
  for (auto& s : open)
    s->close();
}

bool Gateway::wait_calls(std::chrono::milliseconds limit) {
  std::unique_lock lock(mutex_);
  return calls_done_.wait_for(lock, limit, [this] { return calls_ == 0; });
}

CallToken Gateway::call_token() {
  {
    std::lock_guard lock(mutex_);
    ++calls_;
  }
  // The deleter runs when the call's last holder lets go of the token.
  return CallToken(static_cast<void*>(this),
                   [](void* self) { static_cast<Gateway*>(self)->call_ended(); });
}

void Gateway::call_ended() {
  std::lock_guard lock(mutex_);
  if (--calls_ == 0) calls_done_.notify_all();
}

void Gateway::forget(const Session* session) {
  std::lock_guard lock(mutex_);
  sessions_.erase(session);
}

}  // namespace revkv::etcdapi::gateway
