#pragma once

// The bodies of etcd's Auth service on the MessagePack door (docs/PROTOCOL.md "Auth.*"),
// with etcd's rpc.proto field names. Several methods share one shape (and so one struct):
// the wire names are what counts, and they are the same.

#include "protocol/messages.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace revkv::protocol {

// AuthEnable, AuthDisable, AuthStatus, UserList, RoleList: no fields.
struct AuthEmptyRequest {
  friend bool operator==(const AuthEmptyRequest&, const AuthEmptyRequest&) = default;
};

// Authenticate and UserChangePassword: {name, password}.
struct AuthNamePasswordRequest {
  std::string name;
  std::string password;
  friend bool operator==(const AuthNamePasswordRequest&, const AuthNamePasswordRequest&) = default;
};

struct AuthUserAddOptions {
  bool no_password = false;
  friend bool operator==(const AuthUserAddOptions&, const AuthUserAddOptions&) = default;
};

struct AuthUserAddRequest {
  std::string name;
  std::string password;
  AuthUserAddOptions options;
  friend bool operator==(const AuthUserAddRequest&, const AuthUserAddRequest&) = default;
};

// UserGet, UserDelete, RoleAdd: {name}.
struct AuthNameRequest {
  std::string name;
  friend bool operator==(const AuthNameRequest&, const AuthNameRequest&) = default;
};

// RoleGet, RoleDelete: {role}.
struct AuthRoleRequest {
  std::string role;
  friend bool operator==(const AuthRoleRequest&, const AuthRoleRequest&) = default;
};

// UserGrantRole: {user, role} (etcd's field names differ from UserRevokeRole's).
struct AuthUserGrantRoleRequest {
  std::string user;
  std::string role;
  friend bool operator==(const AuthUserGrantRoleRequest&,
                         const AuthUserGrantRoleRequest&) = default;
};

// UserRevokeRole: {name, role}.
struct AuthUserRevokeRoleRequest {
  std::string name;
  std::string role;
  friend bool operator==(const AuthUserRevokeRoleRequest&,
                         const AuthUserRevokeRoleRequest&) = default;
};

// authpb.Permission.Type.
enum class PermissionType : int32_t { read = 0, write = 1, readwrite = 2 };

// authpb.Permission: {permType, key, range_end}.
struct AuthPermission {
  PermissionType perm_type = PermissionType::read;
  std::string key;
  std::string range_end;
  friend bool operator==(const AuthPermission&, const AuthPermission&) = default;
};

struct AuthRoleGrantPermissionRequest {
  std::string name;
  AuthPermission perm;
  friend bool operator==(const AuthRoleGrantPermissionRequest&,
                         const AuthRoleGrantPermissionRequest&) = default;
};

struct AuthRoleRevokePermissionRequest {
  std::string role;
  std::string key;
  std::string range_end;
  friend bool operator==(const AuthRoleRevokePermissionRequest&,
                         const AuthRoleRevokePermissionRequest&) = default;
};

// Every call that answers only a header.
struct AuthEmptyResponse {
  ResponseHeader header;
  friend bool operator==(const AuthEmptyResponse&, const AuthEmptyResponse&) = default;
};

struct AuthStatusResponse {
  ResponseHeader header;
  bool enabled = false;
  uint64_t auth_revision = 0;  // wire: authRevision
  friend bool operator==(const AuthStatusResponse&, const AuthStatusResponse&) = default;
};

struct AuthenticateResponse {
  ResponseHeader header;
  std::string token;
  friend bool operator==(const AuthenticateResponse&, const AuthenticateResponse&) = default;
};

// UserList (users) and UserGet, RoleList (roles): a list of names.
struct AuthUserListResponse {
  ResponseHeader header;
  std::vector<std::string> users;
  friend bool operator==(const AuthUserListResponse&, const AuthUserListResponse&) = default;
};

struct AuthRolesResponse {
  ResponseHeader header;
  std::vector<std::string> roles;
  friend bool operator==(const AuthRolesResponse&, const AuthRolesResponse&) = default;
};

struct AuthRoleGetResponse {
  ResponseHeader header;
  std::vector<AuthPermission> perm;
  friend bool operator==(const AuthRoleGetResponse&, const AuthRoleGetResponse&) = default;
};

}  // namespace revkv::protocol
