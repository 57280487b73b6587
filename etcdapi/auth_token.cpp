#include "etcdapi/auth_token.hpp"

#include <string_view>

namespace revkv::etcdapi {

auth::Caller caller_for(const actors::NodeContext& ctx, std::optional<std::string_view> token,
                        std::optional<std::string> certificate_cn) {
  if (!token) {
    // etcd looks at the certificate only when the call has no token: a bad token is refused
    // even from a connection whose certificate names a user.
    if (certificate_cn && ctx.certificate_names.recording()) {
      auto named = auth::Caller::named(std::move(*certificate_cn));
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
  // HTTP/2 door carries its connection's CN in metadata.
  std::optional<std::string> cn;
  if (ctx.certificate_names.recording()) {
    const std::string peer = context.peer();
    if (peer.starts_with("fd:")) {
      cn = ctx.certificate_names.of_grpc_peer(peer);
    } else if (auto relayed = md.find(kRelayedCnKey); relayed != md.end()) {
      cn = std::string(relayed->second.data(), relayed->second.size());
    }
  }
  return caller_for(ctx, token, std::move(cn));
}

}  // namespace revkv::etcdapi
