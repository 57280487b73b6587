#pragma once

// etcd's permission checks, in etcd's order, against one snapshot of the auth state. With
// auth disabled every check passes.

#include "auth/caller.hpp"
#include "auth/errors.hpp"
#include "auth/state.hpp"

#include <string_view>

namespace revkv::auth {

// etcd's isOpPermitted: no user → "user name is empty"; a JWT issued at an auth revision
// older than the store's → "revision of auth store is old"; an unknown user or one whose
// roles do not cover the range → "permission denied"; the root role → allowed.
Outcome check_range_op(const State& state, const Caller& caller, std::string_view key,
                       std::string_view range_end, PermType want);
// etcd's IsAdminPermitted: no user → "user name is empty"; unknown → "user name not
// found"; without the root role → "permission denied".
Outcome check_admin(const State& state, const Caller& caller);

}  // namespace revkv::auth
