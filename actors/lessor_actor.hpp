#pragma once

// The lessor: owns lease timing (SPEC §8). It grants leases (persisting their record in the
// `lease` column family), renews them on keep-alive, answers TimeToLive / Leases, and revokes
// expired ones. Every revocation, asked for or by expiry, runs through the coordinator with
// all shards paused (`revoke_atom`), so it is atomic with the key deletions and no put can
// attach a key to a lease being revoked (the shards check ctx->leases when they apply a put).
//
//   LeaseGrantRequest      -> Result<protocol::LeaseGrantResponse>
//   LeaseRevokeRequest     -> Result<protocol::LeaseRevokeResponse>
//   LeaseKeepAliveRequest  -> Result<protocol::LeaseKeepAliveResponse>
//   LeaseTimeToLiveRequest -> Result<protocol::LeaseTimeToLiveResponse>
//   LeaseLeasesRequest     -> Result<protocol::LeaseLeasesResponse>
//   expire_atom            -> int64_t: one expiry check now, answered once the revocations
//                             it started are done, with how many leases it revoked
//
// Lease time comes from `clock` (util/clock.hpp; null: the real one). With the real clock
// the lessor checks for expired leases every --lease-check-interval by itself; with a
// manual clock it never does: a test advances the clock, then asks for a check
// (expire_atom), so nothing depends on real time passing.
//
// The leases it starts with (a restart) get a full TTL again plus an extension of one
// election timeout (NodeOptions::lease_restart_extension; etcd's, without checkpointing).
//
// A grant's record is written by the backend actor (write_atom), in its next commit group,
// so concurrent grants and the puts beside them share one fsync; the grant is answered, and
// the lease exists, once the record is durable. In cluster mode a grant is a proposal, made
// without waiting (ClusterLink::propose_then); it is answered once the entry is applied here.

#include "actors/node_context.hpp"
#include "protocol/messages.hpp"
#include "storage/types.hpp"
#include "util/clock.hpp"

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include <vector>

namespace revkv::actors {

// The response type of each Lease.* request.
template <class Request>
struct LeaseResponseOf;
template <>
struct LeaseResponseOf<protocol::LeaseGrantRequest> {
  using type = protocol::LeaseGrantResponse;
};
template <>
struct LeaseResponseOf<protocol::LeaseRevokeRequest> {
  using type = protocol::LeaseRevokeResponse;
};
template <>
struct LeaseResponseOf<protocol::LeaseKeepAliveRequest> {
  using type = protocol::LeaseKeepAliveResponse;
};
template <>
struct LeaseResponseOf<protocol::LeaseTimeToLiveRequest> {
  using type = protocol::LeaseTimeToLiveResponse;
};
template <>
struct LeaseResponseOf<protocol::LeaseLeasesRequest> {
  using type = protocol::LeaseLeasesResponse;
};

// A Lease.* request (one the lessor serves).
template <class T>
concept LeaseRequest = requires {
  typename LeaseResponseOf<T>::type;
};

caf::actor spawn_lessor_actor(caf::actor_system& sys, NodeContextPtr ctx,
                              std::vector<caf::actor> shards, caf::actor coordinator,
                              caf::actor backend, std::vector<storage::LeaseRecord> restored,
                              util::ClockPtr clock);

}  // namespace revkv::actors
