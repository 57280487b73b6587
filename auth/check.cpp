#include "auth/check.hpp"

namespace revkv::auth {

Outcome check_range_op(const State& state, const Caller& caller, std::string_view key,
                       std::string_view range_end, PermType want) {
  if (!state.enabled) return std::nullopt;
  if (!caller.user || caller.user->empty()) return errors::user_empty();
  // etcd 3.4 checks the revision here only, not in IsAdminPermitted: an old JWT still
  // works for the Auth and maintenance calls of a user that is still root.
  if (caller.token_revision != 0 && caller.token_revision < state.revision)
    return errors::auth_old_revision();
  const User* user = state.user(*caller.user);
  if (!user) return errors::permission_denied();
  if (has_root_role(*user)) return std::nullopt;
  if (permitted(state, *user, key, range_end, want)) return std::nullopt;
  return errors::permission_denied();
}

Outcome check_admin(const State& state, const Caller& caller) {
  if (!state.enabled) return std::nullopt;
  if (!caller.user || caller.user->empty()) return errors::user_empty();
  const User* user = state.user(*caller.user);
  if (!user) return errors::user_not_found();
  if (!has_root_role(*user)) return errors::permission_denied();
  return std::nullopt;
}

}  // namespace revkv::auth
