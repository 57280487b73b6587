#include "auth/store.hpp"

#include "auth/password.hpp"
#include "auth/records.hpp"
#include "auth/replication.hpp"

#include <algorithm>

namespace revkv::auth {

namespace {

// Authenticate's checks, in etcd 3.4's order, before any token is made.
std::optional<protocol::WireError> check_credentials(const State& s, std::string_view name,
                                                     std::string_view password) {
  if (!s.enabled) return errors::auth_not_enabled();
  const User* user = s.user(name);
  if (!user) return errors::auth_failed();
  if (user->no_password) return errors::no_password_user();
  if (!check_password(user->password_hash, password)) return errors::auth_failed();
  return std::nullopt;
}

}  // namespace

storage::Result<std::unique_ptr<AuthStore>> AuthStore::open(storage::Backend& backend,
                                                            StoreOptions options) {
  auto loaded = load_state(backend);
  if (!loaded.ok()) return loaded.error();
  State state = std::move(*loaded);
  if (state.revision == 0) {
    // etcd's new store commits revision 1 at once.
    State fresh = state;
    fresh.revision = 1;
    storage::WriteBatch batch(backend);
    write_changes(state, fresh, batch);
    auto written = backend.write(batch, true);
    if (!written.ok()) return written.error();
    state = std::move(fresh);
  }
  return std::unique_ptr<AuthStore>(new AuthStore(backend, options, std::move(state)));
}

AuthStore::AuthStore(storage::Backend& backend, StoreOptions options, State initial)
    : backend_(backend), options_(options), tokens_(options.token_ttl) {
  enabled_.store(initial.enabled);
  state_.store(std::make_shared<const State>(std::move(initial)));
}

Caller AuthStore::caller(std::optional<std::string_view> token) {
  if (!token) return Caller::anonymous();
  if (options_.jwt) {
    auto claims = options_.jwt->verify(*token);
    if (!claims) return Caller::invalid();
    return Caller::from_jwt(std::move(claims->username), claims->revision);
  }
  auto user = tokens_.resolve(*token);
  return user ? Caller::named(std::move(*user)) : Caller::invalid();
}

std::optional<std::string> AuthStore::hash(std::string_view password) const {
  return hash_password(password, options_.bcrypt_cost);
}

Outcome AuthStore::update(bool bump, const std::function<Outcome(State&)>& change) {
  std::lock_guard lock(writers_);
  // A follower refuses before it evaluates: its answer would be from a state that may lag.
  if (replicator_.refusal) {
    if (auto refused = replicator_.refusal()) return refused;
  }
  StatePtr before = state_.load();
  State after = *before;
  if (auto refused = change(after)) return refused;
  if (bump) after.revision = before->revision + 1;
  storage::WriteBatch batch(backend_);
  write_changes(*before, after, batch);
  if (replicator_.propose) {
    // Held under the writers' mutex until applied here: the next change is evaluated on
    // the state this one leaves (the leader is the only member that proposes).
    auto proposed = replicator_.propose(encode_records_payload(batch.data()));
    if (auto* error = std::get_if<protocol::WireError>(&proposed)) return *error;
    return std::nullopt;
  }
  auto written = backend_.write(batch, true);
  if (!written.ok()) return errors::store_failed(written.error().message());
  publish(*before, std::move(after));
  return std::nullopt;
}

void AuthStore::publish(const State& before, State after) {
  if (before.enabled && !after.enabled) tokens_.clear();
  for (const auto& [name, user] : before.users) {
    const User* now = after.user(name);
    if (!now || now->password_hash != user.password_hash) tokens_.invalidate_user(name);
  }
  enabled_.store(after.enabled, std::memory_order_release);
  state_.store(std::make_shared<const State>(std::move(after)), std::memory_order_release);
}

bool AuthStore::stage_committed(std::string_view payload, storage::WriteBatch& batch) const {
  auto decoded = decode_auth_payload(payload);
  if (!decoded) return false;
  if (decoded->records) batch.assign(*decoded->records);
  return true;
}

storage::Status AuthStore::committed(uint64_t index, std::string_view payload) {
  auto decoded = decode_auth_payload(payload);
  if (!decoded) return storage::Error{storage::Errc::corruption, "not an auth payload"};
  StatePtr before = state();
  if (decoded->records) {
    // The records are written: the state is what the column now holds (a few users and
    // roles; reading them back keeps one decoder of the records).
    auto loaded = load_state(backend_);
    if (!loaded.ok()) return loaded.error();
    publish(*before, std::move(*loaded));
    return {};
  }
  // A token grant: only while the password check still holds (same revision, the user still
  // there with a password, auth on), identically on every member.
  const auto& grant = *decoded->grant;
  const User* user = before->user(grant.user);
  if (before->enabled && before->revision == grant.revision && user && !user->no_password)
    tokens_.insert(granted_token(grant, index), grant.user);
  return {};
}

Outcome AuthStore::enable() {
  if (replicator_.refusal) {
    if (auto refused = replicator_.refusal()) return refused;
  }
  // Already enabled: etcd ignores the request.
  if (state()->enabled) return std::nullopt;
  // etcd's AuthEnable writes the flag without a new auth revision.
  return update(/*bump=*/false, [](State& s) -> Outcome {
    const User* root = s.user(kRootUser);
    if (!root) return errors::root_user_not_exist();
    if (!has_root_role(*root)) return errors::root_role_not_exist();
    s.enabled = true;
    return std::nullopt;
  });
}

Outcome AuthStore::disable() {
  if (replicator_.refusal) {
    if (auto refused = replicator_.refusal()) return refused;
  }
  if (!state()->enabled) return std::nullopt;
  // publish() ends every token.
  return update(true, [](State& s) -> Outcome {
    s.enabled = false;
    return std::nullopt;
  });
}

std::variant<std::string, protocol::WireError> AuthStore::authenticate(std::string_view name,
                                                                       std::string_view password) {
  if (options_.jwt) return authenticate_jwt(name, password);
  if (replicator_.propose) return authenticate_replicated(name, password);
  StatePtr s = state();
  if (auto refused = check_credentials(*s, name, password)) return *refused;
  auto token = tokens_.assign(std::string(name));
  if (!token) return errors::store_failed("no random bytes for a token");
  return std::move(*token);
}

// A JWT needs no log entry and no table: it is signed here with the revision the password was
// checked at, and every member holding the key verifies it. In cluster mode only the leader
// answers (as for simple tokens): its state holds every auth change it committed (a change
// keeps the writers' mutex until applied here), so the revision it signs is current; a
// follower's might lag and its token would be refused as old by the others. etcd proposes
// Authenticate through Raft in both modes; for a JWT that entry carries nothing another
// member needs.
std::variant<std::string, protocol::WireError> AuthStore::authenticate_jwt(
    std::string_view name, std::string_view password) {
  if (replicator_.refusal) {
    if (auto refused = replicator_.refusal()) return *refused;
  }
  StatePtr s = state();
  if (auto refused = check_credentials(*s, name, password)) return *refused;
  // etcd 3.4 checks the password, then fails to sign: the same order of answers.
  if (options_.jwt->verify_only()) return errors::jwt_verify_only();
  auto token = options_.jwt->assign(name, s->revision);
  if (!token) return errors::store_failed("JWT signing failed");
  return std::move(*token);
}

// As etcd: the password is checked on the leader (bcrypt is too slow for the apply path),
// the token goes through the log. If an auth change was applied between the check and the
// grant, the grant is void on every member and the check runs again on the new state.
std::variant<std::string, protocol::WireError> AuthStore::authenticate_replicated(
    std::string_view name, std::string_view password) {
  constexpr int kAttempts = 3;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    if (auto refused = replicator_.refusal()) return *refused;
    StatePtr s = state();
    if (auto refused = check_credentials(*s, name, password)) return *refused;
    auto prefix = SimpleTokens::random_prefix();
    if (!prefix) return errors::store_failed("no random bytes for a token");
    TokenGrant grant{s->revision, std::move(*prefix), std::string(name)};
    auto proposed = replicator_.propose(encode_grant_payload(grant));
    if (auto* error = std::get_if<protocol::WireError>(&proposed)) return *error;
    std::string token = granted_token(grant, std::get<uint64_t>(proposed));
    if (tokens_.contains(token)) return token;
  }
  return errors::auth_failed();
}

Outcome AuthStore::user_add(std::string_view name, std::string_view password, bool no_password) {
  if (name.empty()) return errors::user_empty();
  std::string hashed;
  if (!no_password) {
    auto h = hash(password);
    if (!h) return errors::store_failed("bcrypt failed");
    hashed = std::move(*h);
  }
  return update(true, [&](State& s) -> Outcome {
    if (s.user(name)) return errors::user_already_exist();
    s.users.emplace(std::string(name), User{std::string(name), hashed, {}, no_password});
    return std::nullopt;
  });
}

Outcome AuthStore::user_delete(std::string_view name) {
  // publish() ends the user's tokens.
  return update(true, [&](State& s) -> Outcome {
    if (s.enabled && name == kRootUser) return errors::invalid_auth_mgmt();
    auto it = s.users.find(name);
    if (it == s.users.end()) return errors::user_not_found();
    s.users.erase(it);
    return std::nullopt;
  });
}

Outcome AuthStore::user_change_password(std::string_view name, std::string_view password) {
  auto h = hash(password);
  if (!h) return errors::store_failed("bcrypt failed");
  // publish() ends the user's tokens.
  return update(true, [&](State& s) -> Outcome {
    auto it = s.users.find(name);
    if (it == s.users.end()) return errors::user_not_found();
    it->second.password_hash = *h;
    it->second.no_password = false;
    return std::nullopt;
  });
}

Outcome AuthStore::user_grant_role(std::string_view user, std::string_view role) {
  bool already = false;
  auto refused = update(true, [&](State& s) -> Outcome {
    auto it = s.users.find(user);
    if (it == s.users.end()) return errors::user_not_found();
    // The root role exists implicitly (etcd grants it without a stored role).
    if (role != kRootRole && !s.role(role)) return errors::role_not_found();
    auto& roles = it->second.roles;
    auto pos = std::lower_bound(roles.begin(), roles.end(), role);
    if (pos != roles.end() && *pos == role) {
      already = true;
      return protocol::WireError{};  // nothing to write; answered OK below
    }
    roles.insert(pos, std::string(role));
    return std::nullopt;
  });
  if (already) return std::nullopt;
  return refused;
}

Outcome AuthStore::user_revoke_role(std::string_view user, std::string_view role) {
  return update(true, [&](State& s) -> Outcome {
    if (s.enabled && user == kRootUser && role == kRootRole) return errors::invalid_auth_mgmt();
    auto it = s.users.find(user);
    if (it == s.users.end()) return errors::user_not_found();
    auto& roles = it->second.roles;
    auto pos = std::find(roles.begin(), roles.end(), role);
    if (pos == roles.end()) return errors::role_not_granted();
    roles.erase(pos);
    return std::nullopt;
  });
}

Outcome AuthStore::role_add(std::string_view name) {
  if (name.empty()) return errors::role_empty();
  return update(true, [&](State& s) -> Outcome {
    if (s.role(name)) return errors::role_already_exist();
    s.roles.emplace(std::string(name), Role{std::string(name), {}});
    return std::nullopt;
  });
}

Outcome AuthStore::role_delete(std::string_view name) {
  return update(true, [&](State& s) -> Outcome {
    if (s.enabled && name == kRootRole) return errors::invalid_auth_mgmt();
    auto it = s.roles.find(name);
    if (it == s.roles.end()) return errors::role_not_found();
    s.roles.erase(it);
    // Every user loses the role too (etcd does the same in the same transaction).
    for (auto& [user_name, u] : s.users)
      std::erase(u.roles, name);
    return std::nullopt;
  });
}

Outcome AuthStore::role_grant_permission(std::string_view role, Permission perm) {
  return update(true, [&](State& s) -> Outcome {
    auto it = s.roles.find(role);
    if (it == s.roles.end()) return errors::role_not_found();
    auto& perms = it->second.perms;
    auto pos =
        std::lower_bound(perms.begin(), perms.end(), perm.key,
                         [](const Permission& p, const std::string& k) { return p.key < k; });
    // etcd updates the type of the permission found at the key's sorted position when it
    // has the same range; otherwise it adds one.
    if (pos != perms.end() && pos->key == perm.key && pos->range_end == perm.range_end) {
      pos->type = perm.type;
    } else {
      perms.push_back(std::move(perm));
      std::stable_sort(perms.begin(), perms.end(),
                       [](const Permission& a, const Permission& b) { return a.key < b.key; });
    }
    return std::nullopt;
  });
}

Outcome AuthStore::role_revoke_permission(std::string_view role, std::string_view key,
                                          std::string_view range_end) {
  return update(true, [&](State& s) -> Outcome {
    auto it = s.roles.find(role);
    if (it == s.roles.end()) return errors::role_not_found();
    auto& perms = it->second.perms;
    auto removed = std::erase_if(
        perms, [&](const Permission& p) { return p.key == key && p.range_end == range_end; });
    if (removed == 0) return errors::permission_not_granted();
    return std::nullopt;
  });
}

}  // namespace revkv::auth
