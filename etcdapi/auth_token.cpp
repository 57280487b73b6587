#include "etcdapi/auth_token.hpp"

#include <string_view>

namespace revkv::etcdapi {

auth::Caller caller_of(const actors::NodeContext& ctx, const grpc::ServerContextBase& context) {
  const auto& md = context.client_metadata();
  auto it = md.find("token");
  if (it == md.end()) it = md.find("authorization");
  if (it == md.end()) return auth::Caller::anonymous();
  // A node without an auth store (a test harness) knows no token.
  if (!ctx.auth) return auth::Caller::invalid();
  return ctx.auth->caller(std::string_view(it->second.data(), it->second.size()));
}

}  // namespace revkv::etcdapi
