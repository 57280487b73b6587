#include "apps/revkv-bench/grpc_auth.hpp"

#include "apps/revkv-bench/grpc_channels.hpp"

#include <chrono>
#include <etcdserverpb/rpc.grpc.pb.h>

namespace revkv::bench {

std::optional<UserPassword> parse_user(const std::string& text) {
  const auto colon = text.find(':');
  if (colon == std::string::npos || colon == 0) return std::nullopt;
  return UserPassword{text.substr(0, colon), text.substr(colon + 1)};
}

ChannelToken::ChannelToken(std::shared_ptr<grpc::Channel> channel, UserPassword user)
    : channel_(std::move(channel)), user_(std::move(user)) {}

std::string ChannelToken::login() {
  auto stub = etcdserverpb::Auth::NewStub(channel_);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  etcdserverpb::AuthenticateRequest request;
  request.set_name(user_.name);
  request.set_password(user_.password);
  etcdserverpb::AuthenticateResponse response;
  const auto status = stub->Authenticate(&context, request, &response);
  if (!status.ok()) return "authenticate as " + user_.name + ": " + describe(status);
  std::lock_guard lock(mutex_);
  token_ = response.token();
  return "";
}

void ChannelToken::attach(grpc::ClientContext& context) const {
  context.AddMetadata("token", current());
}

bool ChannelToken::refresh(const std::string& refused) {
  // One login per expired token, whichever of the channel's clients saw it first; the
  // others retry with the new one. A login is rare (a token lives while it is used): the
  // load generator's thread it blocks (and the answers waiting for that thread, whose
  // latencies include it) is a cost paid once per token.
  std::lock_guard lock(login_mutex_);
  if (current() != refused) return true;
  return login().empty();
}

std::string ChannelToken::current() const {
  std::lock_guard lock(mutex_);
  return token_;
}

bool is_invalid_token(const std::string& message) {
  return message == "etcdserver: invalid auth token";
}

}  // namespace revkv::bench
