#include "auth/errors.hpp"

#include <string>

namespace revkv::auth::errors {

namespace {
constexpr int64_t kInvalidArgument = 3;
constexpr int64_t kPermissionDenied = 7;
constexpr int64_t kFailedPrecondition = 9;
constexpr int64_t kInternal = 13;
constexpr int64_t kUnauthenticated = 16;

protocol::WireError make(int64_t code, const char* text) {
  return protocol::WireError{code, std::string("etcdserver: ") + text};
}
}  // namespace

protocol::WireError root_user_not_exist() {
  return make(kFailedPrecondition, "root user does not exist");
}
protocol::WireError root_role_not_exist() {
  return make(kFailedPrecondition, "root user does not have root role");
}
protocol::WireError user_already_exist() {
  return make(kFailedPrecondition, "user name already exists");
}
protocol::WireError user_empty() {
  return make(kInvalidArgument, "user name is empty");
}
protocol::WireError user_not_found() {
  return make(kFailedPrecondition, "user name not found");
}
protocol::WireError role_already_exist() {
  return make(kFailedPrecondition, "role name already exists");
}
protocol::WireError role_not_found() {
  return make(kFailedPrecondition, "role name not found");
}
protocol::WireError role_empty() {
  return make(kInvalidArgument, "role name is empty");
}
protocol::WireError auth_failed() {
  return make(kInvalidArgument, "authentication failed, invalid user ID or password");
}
protocol::WireError permission_denied() {
  return make(kPermissionDenied, "permission denied");
}
protocol::WireError role_not_granted() {
  return make(kFailedPrecondition, "role is not granted to the user");
}
protocol::WireError permission_not_granted() {
  return make(kFailedPrecondition, "permission is not granted to the role");
}
protocol::WireError auth_not_enabled() {
  return make(kFailedPrecondition, "authentication is not enabled");
}
protocol::WireError invalid_auth_token() {
  return make(kUnauthenticated, "invalid auth token");
}
protocol::WireError invalid_auth_mgmt() {
  return make(kInvalidArgument, "invalid auth management");
}
protocol::WireError auth_old_revision() {
  return make(kInvalidArgument, "revision of auth store is old");
}
protocol::WireError jwt_verify_only() {
  constexpr int64_t kUnknown = 2;
  return {kUnknown, "auth: token signing attempted with verify-only key"};
}
std::string grpc_error_text(const protocol::WireError& error) {
  // grpc-go's names of the codes the auth checks return.
  const char* name = "Unknown";
  switch (error.code) {
    case kInvalidArgument:
      name = "InvalidArgument";
      break;
    case kPermissionDenied:
      name = "PermissionDenied";
      break;
    case kFailedPrecondition:
      name = "FailedPrecondition";
      break;
    case kInternal:
      name = "Internal";
      break;
    case kUnauthenticated:
      name = "Unauthenticated";
      break;
    default:
      break;
  }
  return std::string("rpc error: code = ") + name + " desc = " + error.message;
}

protocol::WireError as_maintenance_error(const protocol::WireError& error) {
  constexpr int64_t kUnknown = 2;
  if (error == permission_denied()) return {kUnknown, "auth: permission denied"};
  if (error == user_empty()) return {kUnknown, "auth: user name is empty"};
  if (error == user_not_found()) return {kUnknown, "auth: user not found"};
  return error;
}
protocol::WireError no_password_user() {
  constexpr int64_t kUnknown = 2;
  return {kUnknown, "auth: authentication failed, password was given for no password user"};
}
protocol::WireError store_failed(std::string_view why) {
  return protocol::WireError{kInternal, "revkv: auth store: " + std::string(why)};
}

}  // namespace revkv::auth::errors
