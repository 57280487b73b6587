#include "actors/auth_replication.hpp"

#include "actors/cluster_gate.hpp"
#include "actors/state_change.hpp"

namespace revkv::actors {
namespace {

// gRPC's Unavailable: the proposal's fate is about the cluster, not the request (etcd's
// "leader changed" and "server stopped" are Unavailable too); a client retries.
constexpr int64_t kUnavailable = 14;

}  // namespace

void replicate_auth(NodeContext& ctx) {
  if (!ctx.cluster || !ctx.auth) return;
  std::shared_ptr<ClusterLink> link = ctx.cluster;
  auth::Replicator replicator;
  replicator.refusal = [link]() -> auth::Outcome { return leader_refusal(*link); };
  replicator.propose = [link](std::string payload) -> std::variant<uint64_t, protocol::WireError> {
    // Set by the Raft member before it starts, so before this member can lead.
    if (!link->propose) return protocol::WireError{kUnavailable, "etcdserver: no leader"};
    auto entry =
        encode_state_change({link->member_id, link->incarnation, ChangeKind::auth, payload});
    link->proposals_pending.fetch_add(1);
    auto proposed = link->propose(std::move(entry));
    link->proposals_pending.fetch_sub(1);
    if (proposed.error) {
      link->proposals_failed.fetch_add(1);
      return protocol::WireError{kUnavailable, *proposed.error};
    }
    return proposed.index;
  };
  ctx.auth->replicate_through(std::move(replicator));
}

}  // namespace revkv::actors
