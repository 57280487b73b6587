#pragma once

// The node's auth store: the one owner of the auth state. Reads (every permission check)
// take the current immutable State (auth/state.hpp) without waiting for a writer; a change
// is made on a copy under the writers' mutex, written to the `auth` column family in one
// synced batch together with the new auth revision, and only then published. So a check
// never sees a change that a crash could lose, and a failed write changes nothing.
//
// The operations and their errors follow etcd's auth store (docs/SECURITY.md). Password
// hashing (bcrypt cost 10, ~50-100 ms) runs on the caller's thread before the mutex is
// taken, so one slow hash does not hold up other changes.
//
// In cluster mode (replicate_through) a change is not written here: the leader evaluates it
// the same way, then proposes its records as a Raft entry (auth/replication.hpp), and every
// member writes and publishes them when it applies the entry (stage_committed, committed).
// Authenticate checks the password on the leader and proposes the token, which every member
// then accepts (docs/SECURITY.md "Replication").

#include "auth/caller.hpp"
#include "auth/errors.hpp"
#include "auth/jwt.hpp"
#include "auth/state.hpp"
#include "auth/tokens.hpp"
#include "protocol/auth_method.hpp"
#include "storage/backend.hpp"

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace revkv::auth {

// How a cluster member's store reaches the Raft log (actors/auth_replication.hpp).
struct Replicator {
  // nullopt when this member may originate a change now (the ready leader), else the error
  // ("etcdserver: not leader").
  std::function<Outcome()> refusal;
  // Proposes an auth payload and blocks until the entry was applied here (committed()
  // has run): its log index, or why not.
  std::function<std::variant<uint64_t, protocol::WireError>(std::string payload)> propose;
  // A follower's way to the leader for the calls only the leader serves (the changes and
  // Authenticate): sends the call (its encoded body) for `caller` and returns the leader's
  // encoded result or error; nullopt when it is served here instead (this member leads, or
  // it may not forward: the change is then refused as `refusal` says).
  using Forwarded = std::variant<std::string, protocol::WireError>;
  std::function<std::optional<Forwarded>(protocol::AuthMethod method, std::string body,
                                         const Caller& caller)>
      forward;
};

struct StoreOptions {
  std::chrono::seconds token_ttl{300};  // etcd's --auth-token-ttl
  int bcrypt_cost = 10;                 // etcd's --bcrypt-cost default
  // etcd's --auth-token jwt,...: null for simple tokens. With it, Authenticate signs a JWT
  // (no token table, no Raft entry) and caller() verifies one; simple tokens are not
  // accepted (one provider, as etcd).
  std::shared_ptr<const JwtTokens> jwt;
};

class AuthStore {
 public:
  // Loads the state from `backend`'s auth column (a new store starts at revision 1, as
  // etcd's). `backend` outlives the store.
  static storage::Result<std::unique_ptr<AuthStore>> open(storage::Backend& backend,
                                                          StoreOptions options = {});

  StatePtr state() const { return state_.load(std::memory_order_acquire); }
  // A lock-free flag: the request path's whole cost while auth is disabled.
  bool enabled() const { return enabled_.load(std::memory_order_acquire); }
  uint64_t revision() const { return state()->revision; }

  // Who a token names (nullopt token: no token was given).
  Caller caller(std::optional<std::string_view> token);

  Outcome enable();
  Outcome disable();
  // A new simple token, or etcd's error (not enabled, unknown user, no-password user,
  // wrong password: all but the first "authentication failed").
  std::variant<std::string, protocol::WireError> authenticate(std::string_view name,
                                                              std::string_view password);
  Outcome user_add(std::string_view name, std::string_view password, bool no_password);
  Outcome user_delete(std::string_view name);
  Outcome user_change_password(std::string_view name, std::string_view password);
  Outcome user_grant_role(std::string_view user, std::string_view role);
  Outcome user_revoke_role(std::string_view user, std::string_view role);
  Outcome role_add(std::string_view name);
  Outcome role_delete(std::string_view name);
  Outcome role_grant_permission(std::string_view role, Permission perm);
  Outcome role_revoke_permission(std::string_view role, std::string_view key,
                                 std::string_view range_end);

  SimpleTokens& tokens() { return tokens_; }

  // Cluster mode: set once, before any request is served. Without it (a single node) a
  // change is written and published here at once.
  void replicate_through(Replicator replicator) { replicator_ = std::move(replicator); }
  bool replicated() const { return static_cast<bool>(replicator_.propose); }
  // Replicator::forward, or nullopt without one (a single node).
  std::optional<Replicator::Forwarded> forward(protocol::AuthMethod method, std::string body,
                                               const Caller& caller) const {
    if (!replicator_.forward) return std::nullopt;
    return replicator_.forward(method, std::move(body), caller);
  }

  // The apply path of a committed auth payload, on every member, in log order, on one
  // thread: stage_committed adds what it writes to `batch` (false: not an auth payload),
  // which the caller writes together with the applied index; then committed() publishes it
  // (the new state, the tokens it ends or the token it grants). Never takes the writers'
  // mutex: the leader's request thread holds it while it waits for this.
  bool stage_committed(std::string_view payload, storage::WriteBatch& batch) const;
  storage::Status committed(uint64_t index, std::string_view payload);

 private:
  AuthStore(storage::Backend& backend, StoreOptions options, State initial);
  // Runs `change` on a copy of the state under the writers' mutex; when it returns no
  // error, bumps the revision (`bump`), persists and publishes it.
  Outcome update(bool bump, const std::function<Outcome(State&)>& change);
  // Publishes `after` (and ends the tokens of users it removed or gave a new password).
  void publish(const State& before, State after);
  std::variant<std::string, protocol::WireError> authenticate_replicated(std::string_view name,
                                                                         std::string_view password);
  std::variant<std::string, protocol::WireError> authenticate_jwt(std::string_view name,
                                                                  std::string_view password);
  std::optional<std::string> hash(std::string_view password) const;

  storage::Backend& backend_;
  StoreOptions options_;
  SimpleTokens tokens_;
  std::mutex writers_;
  std::atomic<StatePtr> state_;
  std::atomic<bool> enabled_{false};
  Replicator replicator_;
};

}  // namespace revkv::auth
