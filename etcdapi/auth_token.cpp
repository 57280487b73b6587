#include "etcdapi/auth_token.hpp"

#include <string_view>

namespace revkv::etcdapi {

auth::Caller caller_of(const actors::NodeContext& ctx, const grpc::ServerContextBase& context) {
  const auto& md = context.client_metadata();
  auto it = md.find("token");
  if (it == md.end()) it = md.find("authorization");
  if (it == md.end()) {
    // etcd looks at the certificate only when the call has no token: a bad token is refused
    // even from a connection whose certificate names a user.
    if (ctx.certificate_names.recording())
      if (auto cn = ctx.certificate_names.of_grpc_peer(context.peer())) {
        auto named = auth::Caller::named(std::move(*cn));
        named.by_certificate = true;
        return named;
      }
    return auth::Caller::anonymous();
  }
  std::string_view token(it->second.data(), it->second.size());
  // A node without an auth store (a test harness) knows no token.
  auto caller = ctx.auth ? ctx.auth->caller(token) : auth::Caller::invalid();
  caller.token = std::string(token);  // forwarded with the request by a follower
  return caller;
}

}  // namespace revkv::etcdapi
