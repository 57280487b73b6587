#pragma once

// What etcd's auth layer checks for each request of the request path (etcd 3.4's
// authApplierV3 and its maintenance server): Range → read on the range; Put → write on the
// key (and read with prev_kv); DeleteRange → write on the range (and read with prev_kv);
// Txn → read on every compare's range, then every op of both branches (nested ones too);
// Watch create → read on the watched range; Defragment, Snapshot, Hash and HashKV → the root
// role (refused with etcd 3.4's untranslated "auth: ..." errors, code Unknown). Compact, Status,
// Alarm and the other lease calls are not checked, as in etcd 3.4; LeaseRevoke and a put that
// attaches a lease want write permission on every key attached to that lease, as etcd's:
// lease_needs_check marks those requests, and lease_keys_refusal checks the lease's keys
// once the lessor gathered them (actors/request_path.cpp).

#include "actors/node_context.hpp"
#include "actors/request_path.hpp"
#include "auth/caller.hpp"
#include "auth/errors.hpp"

namespace revkv::actors {

// The error to answer instead of running `request`, or nullopt. A bad token is refused
// even with auth disabled (etcd answers "invalid auth token" for any token it does not
// know); without one, nothing is looked at unless auth is enabled or the token is a JWT
// (whose revision etcd 3.4 checks on reads even with auth disabled).
auth::Outcome auth_refusal(const NodeContext& ctx, const auth::Caller& caller,
                           const Request& request);

// With auth enabled: a LeaseRevoke, or a Put that attaches a lease (etcd's checkLeasePuts).
bool lease_needs_check(const NodeContext& ctx, const Request& request);

// The refusal of a write that needs write permission on every key of `keys` (the lease's
// attached keys, as the lessor gathered them), or nullopt. A failed gather is no refusal:
// the write then answers for itself (an unknown lease, a failed node).
auth::Outcome lease_keys_refusal(const NodeContext& ctx, const auth::Caller& caller,
                                 const storage::Result<protocol::LeaseTimeToLiveResponse>& keys);

}  // namespace revkv::actors
