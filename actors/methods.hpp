#pragma once

// The request type each method the node serves decodes into, and whether it counts as a
// write in a session's ordering rules. One table, used by the session and by the
// actor-message test harness.

#include "protocol/messages.hpp"
#include "protocol/method.hpp"
#include "storage/types.hpp"

#include <type_traits>

namespace revkv::actors {

// Calls f(std::type_identity<Request>{}, write) for `method`. The switch names every
// protocol::Method, so a new method does not compile (-Wswitch) until it is served here.
template <class F>
void visit_method(protocol::Method method, F&& f) {
  using protocol::Method;
  auto serve = [&f]<class T>(bool write) { f(std::type_identity<T>{}, write); };
  switch (method) {
    case Method::kv_range:
      return serve.template operator()<storage::RangeRequest>(false);
    case Method::kv_put:
      return serve.template operator()<storage::PutRequest>(true);
    case Method::kv_delete_range:
      return serve.template operator()<storage::DeleteRangeRequest>(true);
    case Method::kv_txn:
      return serve.template operator()<storage::TxnRequest>(true);
    case Method::kv_compact:
      return serve.template operator()<protocol::CompactionRequest>(true);
    case Method::maintenance_status:
      return serve.template operator()<protocol::StatusRequest>(false);
    case Method::maintenance_hash_kv:
      return serve.template operator()<protocol::HashKVRequest>(false);
    case Method::maintenance_defragment:
      return serve.template operator()<protocol::DefragmentRequest>(true);
    case Method::maintenance_hash:
      return serve.template operator()<protocol::HashRequest>(false);
    case Method::maintenance_alarm:
      return serve.template operator()<protocol::AlarmRequest>(true);
    case Method::maintenance_snapshot:  // a read: it sees every write answered before it
      return serve.template operator()<protocol::SnapshotRequest>(false);
    case Method::watch:  // a read: a watch from now sees every write answered before it
      return serve.template operator()<protocol::WatchRequest>(false);
    // Lease.*: grant, revoke and keep-alive change the leases (ordered as writes).
    case Method::lease_grant:
      return serve.template operator()<protocol::LeaseGrantRequest>(true);
    case Method::lease_revoke:
      return serve.template operator()<protocol::LeaseRevokeRequest>(true);
    case Method::lease_keep_alive:
      return serve.template operator()<protocol::LeaseKeepAliveRequest>(true);
    case Method::lease_time_to_live:
      return serve.template operator()<protocol::LeaseTimeToLiveRequest>(false);
    case Method::lease_leases:
      return serve.template operator()<protocol::LeaseLeasesRequest>(false);
  }
}

}  // namespace revkv::actors
