#include "actors/auth_check.hpp"

#include "auth/check.hpp"
#include "auth/store.hpp"

#include <type_traits>

namespace revkv::actors {

namespace {

using auth::PermType;

std::string_view end_of(const std::optional<std::string>& range_end) {
  return range_end ? std::string_view(*range_end) : std::string_view();
}

struct Checker {
  const auth::State& state;
  const auth::Caller& caller;

  auth::Outcome op(std::string_view key, std::string_view end, PermType want) const {
    return auth::check_range_op(state, caller, key, end, want);
  }

  auth::Outcome operator()(const storage::RangeRequest& r) const {
    return op(r.key, end_of(r.range_end), PermType::read);
  }
  auth::Outcome operator()(const storage::PutRequest& r) const {
    if (auto e = op(r.key, {}, PermType::write)) return e;
    if (r.prev_kv) return op(r.key, {}, PermType::read);
    return std::nullopt;
  }
  auth::Outcome operator()(const storage::DeleteRangeRequest& r) const {
    if (auto e = op(r.key, end_of(r.range_end), PermType::write)) return e;
    if (r.prev_kv) return op(r.key, end_of(r.range_end), PermType::read);
    return std::nullopt;
  }
  auth::Outcome ops(const std::vector<storage::RequestOp>& list) const {
    for (const auto& o : list) {
      auto e = std::visit(
          [this](const auto& x) -> auth::Outcome {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<T, std::monostate>) {
              return std::nullopt;
            } else if constexpr (std::is_same_v<T, storage::Box<storage::TxnRequest>>) {
              return (*this)(*x);
            } else {
              return (*this)(x);
            }
          },
          o.op);
      if (e) return e;
    }
    return std::nullopt;
  }
  auth::Outcome operator()(const storage::TxnRequest& r) const {
    for (const auto& c : r.compare) {
      if (auto e = op(c.key, end_of(c.range_end), PermType::read)) return e;
    }
    if (auto e = ops(r.success)) return e;
    return ops(r.failure);
  }
  auth::Outcome operator()(const protocol::WatchRequest& r) const {
    if (const auto* create = std::get_if<protocol::WatchCreateRequest>(&r.request))
      return op(create->key, end_of(create->range_end), PermType::read);
    return std::nullopt;
  }
  auth::Outcome operator()(const protocol::DefragmentRequest&) const { return admin(); }
  auth::Outcome operator()(const protocol::SnapshotRequest&) const { return admin(); }
  auth::Outcome operator()(const protocol::HashRequest&) const { return admin(); }
  auth::Outcome operator()(const protocol::HashKVRequest&) const { return admin(); }
  auth::Outcome admin() const {
    auto denied = auth::check_admin(state, caller);
    if (denied) return auth::errors::as_maintenance_error(*denied);
    return std::nullopt;
  }

  template <class T>
  auth::Outcome operator()(const T&) const {
    return std::nullopt;
  }
};

// What etcd 3.4 serves through doSerialize: a Range, or a Txn whose every op is a Range
// (its isTxnReadonly).
bool serialized_read(const Request& request) {
  if (std::holds_alternative<storage::RangeRequest>(request)) return true;
  const auto* txn = std::get_if<storage::TxnRequest>(&request);
  if (!txn) return false;
  auto all_ranges = [](const std::vector<storage::RequestOp>& list) {
    for (const auto& o : list)
      if (!std::holds_alternative<storage::RangeRequest>(o.op)) return false;
    return true;
  };
  return all_ranges(txn->success) && all_ranges(txn->failure);
}

}  // namespace

auth::Outcome auth_refusal(const NodeContext& ctx, const auth::Caller& caller,
                           const Request& request) {
  if (caller.bad_token) return auth::errors::invalid_auth_token();
  if (!ctx.auth) return std::nullopt;
  const bool enabled = ctx.auth->enabled();
  // Simple tokens and certificates carry no revision: with auth disabled, one flag load.
  if (!enabled && caller.token_revision == 0) return std::nullopt;
  auto state = ctx.auth->state();
  if (enabled) {
    if (auto denied = std::visit(Checker{*state, caller}, request)) return denied;
  }
  // etcd 3.4's doSerialize: a read with a JWT whose revision is not the store's (older or
  // newer, and even with auth disabled) is refused as old after the permission check
  // (docs/SECURITY.md "JWT tokens").
  if (caller.token_revision != 0 && caller.token_revision != state->revision &&
      serialized_read(request))
    return auth::errors::auth_old_revision();
  return std::nullopt;
}

bool lease_needs_check(const NodeContext& ctx, const Request& request) {
  if (!ctx.auth || !ctx.auth->enabled()) return false;
  if (std::holds_alternative<protocol::LeaseRevokeRequest>(request)) return true;
  const auto* put = std::get_if<storage::PutRequest>(&request);
  return put && put->lease != 0;
}

auth::Outcome lease_keys_refusal(const NodeContext& ctx, const auth::Caller& caller,
                                 const storage::Result<protocol::LeaseTimeToLiveResponse>& keys) {
  if (!keys.ok() || !ctx.auth || !ctx.auth->enabled()) return std::nullopt;
  auto state = ctx.auth->state();
  for (const auto& key : keys->keys) {
    if (auto denied = auth::check_range_op(*state, caller, key, {}, PermType::write)) return denied;
  }
  return std::nullopt;
}

}  // namespace revkv::actors
