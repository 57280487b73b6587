#include "protocol/auth_method.hpp"

#include <array>

namespace revkv::protocol {
namespace {

// Indexed by the enum's value.
constexpr std::array<std::string_view, kAuthMethodCount> kNames{
    "Auth.AuthEnable",
    "Auth.AuthDisable",
    "Auth.AuthStatus",
    "Auth.Authenticate",
    "Auth.UserAdd",
    "Auth.UserGet",
    "Auth.UserList",
    "Auth.UserDelete",
    "Auth.UserChangePassword",
    "Auth.UserGrantRole",
    "Auth.UserRevokeRole",
    "Auth.RoleAdd",
    "Auth.RoleGet",
    "Auth.RoleList",
    "Auth.RoleDelete",
    "Auth.RoleGrantPermission",
    "Auth.RoleRevokePermission",
};
static_assert(static_cast<std::size_t>(AuthMethod::role_revoke_permission) + 1 == kAuthMethodCount);

}  // namespace

std::string_view auth_method_name(AuthMethod method) {
  return kNames[static_cast<std::size_t>(method)];
}

std::optional<AuthMethod> auth_method_from_name(std::string_view name) {
  for (std::size_t i = 0; i < kNames.size(); ++i)
    if (kNames[i] == name) return static_cast<AuthMethod>(i);
  return std::nullopt;
}

}  // namespace revkv::protocol
