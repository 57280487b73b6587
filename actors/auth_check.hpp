#pragma once

// What etcd's auth layer checks for each request of the request path (etcd 3.4's
// authApplierV3 and its maintenance server): Range → read on the range; Put → write on the
// key (and read with prev_kv); DeleteRange → write on the range (and read with prev_kv);
// Txn → read on every compare's range, then every op of both branches (nested ones too);
// Watch create → read on the watched range; Defragment, Snapshot, Hash and HashKV → the root
// role (refused with etcd 3.4's untranslated "auth: ..." errors, code Unknown). Compact, Status,
// Alarm and the lease calls are not checked, as in etcd 3.4 — except that etcd also wants write
// permission on every key attached to a lease for LeaseRevoke (and for a put that attaches one):
// not done yet, the lease table keeps no key list (docs/SECURITY.md "What remains").

#include "actors/node_context.hpp"
#include "actors/request_path.hpp"
#include "auth/caller.hpp"
#include "auth/errors.hpp"

namespace revkv::actors {

// The error to answer instead of running `request`, or nullopt. A bad token is refused
// even with auth disabled (etcd answers "invalid auth token" for any token it does not
// know); without one, nothing is looked at unless auth is enabled.
auth::Outcome auth_refusal(const NodeContext& ctx, const auth::Caller& caller,
                           const Request& request);

}  // namespace revkv::actors
