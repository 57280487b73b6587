#pragma once

// etcd's authentication state (users, roles and their key permissions, the enabled flag
// and the auth revision) as one immutable value. The auth store (auth/store.hpp) builds a
// new State for every change and publishes it whole, so a permission check reads a
// snapshot without a lock and never sees half a change.

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace revkv::auth {

// authpb.Permission.Type's values. Any other value a client grants is kept as given (role
// get shows it) and grants nothing, as etcd stores and checks it.
enum class PermType : int32_t { read = 0, write = 1, readwrite = 2 };

// On one key (range_end empty), on [key, range_end), or on every key from `key` on
// (range_end "\0"), as etcd's RoleGrantPermission takes them.
struct Permission {
  PermType type = PermType::read;
  std::string key;
  std::string range_end;
  friend bool operator==(const Permission&, const Permission&) = default;
};

struct Role {
  std::string name;
  std::vector<Permission> perms;  // sorted by key, as etcd keeps them
  friend bool operator==(const Role&, const Role&) = default;
};

struct User {
  std::string name;
  std::string password_hash;       // bcrypt ("$2b$10$..."); empty with no_password
  std::vector<std::string> roles;  // sorted, unique
  bool no_password = false;        // etcd's UserAddOptions.no_password: cannot Authenticate
  friend bool operator==(const User&, const User&) = default;
};

inline constexpr std::string_view kRootUser = "root";
inline constexpr std::string_view kRootRole = "root";

struct State {
  bool enabled = false;
  // Bumped by every change (etcd's auth revision); starts at 1 in a new store.
  uint64_t revision = 0;
  std::map<std::string, User, std::less<>> users;
  std::map<std::string, Role, std::less<>> roles;

  const User* user(std::string_view name) const;
  const Role* role(std::string_view name) const;
};
using StatePtr = std::shared_ptr<const State>;

bool has_root_role(const User& user);

// Whether the user's roles grant `want` (read or write; readwrite grants both) on `key`
// alone (range_end empty) or on all of [key, range_end) (range_end "\0": every key from
// `key` on). The union of the roles' permissions counts, as etcd's merged interval tree:
// [a, c) from one role and [c, e) from another cover [b, d). The root role is not
// special here; callers check has_root_role first.
bool permitted(const State& state, const User& user, std::string_view key,
               std::string_view range_end, PermType want);

}  // namespace revkv::auth
