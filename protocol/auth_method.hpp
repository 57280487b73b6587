#pragma once

// The MessagePack-RPC names of etcd's Auth service ("Auth.UserAdd", ...; docs/PROTOCOL.md).
// Kept apart from protocol::Method: these calls do not enter the request path (they read or
// change the auth store directly, as on the gRPC door), so the path's tables, routing and
// per-method metrics never see them.

#include <cstdint>
#include <optional>
#include <string_view>

namespace revkv::protocol {

enum class AuthMethod : uint8_t {
  auth_enable,
  auth_disable,
  auth_status,
  authenticate,
  user_add,
  user_get,
  user_list,
  user_delete,
  user_change_password,
  user_grant_role,
  user_revoke_role,
  role_add,
  role_get,
  role_list,
  role_delete,
  role_grant_permission,
  role_revoke_permission,
};

inline constexpr std::size_t kAuthMethodCount = 17;

std::string_view auth_method_name(AuthMethod method);
std::optional<AuthMethod> auth_method_from_name(std::string_view name);

}  // namespace revkv::protocol
