#include "etcdapi/auth_token.hpp"

#include <charconv>
#include <string_view>

namespace revkv::etcdapi {

namespace {
// A descriptor written in decimal, nothing else; -1 otherwise.
int parse_fd(std::string_view text) {
  int fd = -1;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), fd);
  return ec == std::errc() && end == text.data() + text.size() && fd >= 0 ? fd : -1;
}
}  // namespace

auth::Caller caller_for(const actors::NodeContext& ctx, std::optional<std::string_view> token,
                        int connection_fd) {
  if (!token) {
    // etcd looks at the certificate only when the call has no token: a bad token is refused
    // even from a connection whose certificate names a user.
    if (connection_fd >= 0 && ctx.certificate_names.recording())
      if (auto cn = ctx.certificate_names.of_fd(connection_fd)) {
        auto named = auth::Caller::named(std::move(*cn));
        named.by_certificate = true;
        return named;
      }
    return auth::Caller::anonymous();
  }
  // A node without an auth store (a test harness) knows no token.
  auto caller = ctx.auth ? ctx.auth->caller(*token) : auth::Caller::invalid();
  caller.token = std::string(*token);  // forwarded with the request by a follower
  return caller;
}

auth::Caller caller_of(const actors::NodeContext& ctx, const grpc::ServerContextBase& context) {
  const auto& md = context.client_metadata();
  std::optional<std::string_view> token;
  auto it = md.find("token");
  if (it == md.end()) it = md.find("authorization");
  if (it != md.end()) token = std::string_view(it->second.data(), it->second.size());
  // A client connection of gRPC's own is "fd:N"; a call relayed in-process by revkv's
  // HTTP/2 door names its connection in metadata.
  const std::string peer = context.peer();
  int fd = -1;
  if (peer.starts_with("fd:")) {
    fd = parse_fd(std::string_view(peer).substr(3));
  } else if (auto relayed = md.find(kRelayedFdKey); relayed != md.end()) {
    fd = parse_fd(std::string_view(relayed->second.data(), relayed->second.size()));
  }
  return caller_for(ctx, token, fd);
}

}  // namespace revkv::etcdapi
