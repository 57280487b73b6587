#include "actors/cluster_gate.hpp"

#include "actors/alarm_effect.hpp"
#include "auth/store.hpp"
#include "storage/txn_rules.hpp"

namespace revkv::actors {
namespace {

// gRPC's Unavailable, as etcd answers ErrNoLeader; clients fail over on it.
constexpr int64_t kUnavailable = 14;

bool needs_leader(protocol::Method method, const Request& request) {
  // Defragment concerns this member's own store, as in etcd: every member runs its own.
  if (std::holds_alternative<protocol::DefragmentRequest>(request)) return false;
  // The alarms are applied from the log on every member: a list (and any request that
  // changes nothing, answered with the list) from this member's copy; raising or clearing
  // one is a state change only the leader proposes.
  if (const auto* alarm = std::get_if<protocol::AlarmRequest>(&request))
    return alarm_effect(*alarm) != AlarmEffect::none;
  // A Txn of serializable Ranges only is a serializable read (etcd's isTxnSerializable).
  if (const auto* txn = std::get_if<storage::TxnRequest>(&request))
    return !storage::is_serializable_read_txn(*txn);
  if (is_write(method)) return true;
  if (const auto* range = std::get_if<storage::RangeRequest>(&request)) {
    return !range->serializable;
  }
  // A keep-alive or a time-to-live renews or reads the lessor's clock, which only the
  // leader's lessor keeps.
  return std::holds_alternative<protocol::LeaseKeepAliveRequest>(request) ||
         std::holds_alternative<protocol::LeaseTimeToLiveRequest>(request) ||
         std::holds_alternative<protocol::LeaseLeasesRequest>(request);
}

}  // namespace

std::optional<protocol::WireError> leader_refusal(const ClusterLink& link) {
  if (link.leader.load()) return std::nullopt;
  uint64_t leader = link.leader_id.load();
  // A member elected but not yet caught up with its predecessor's entries is not ready
  // either: to the client that is "no leader" yet.
  if (leader == 0 || leader == link.member_id) {
    return protocol::WireError{kUnavailable, "etcdserver: no leader"};
  }
  return protocol::WireError{kUnavailable, "etcdserver: not leader"};
}

std::optional<protocol::WireError> cluster_refusal(const NodeContext& ctx, protocol::Method method,
                                                   const Request& request) {
  const auto* link = ctx.cluster.get();
  if (link == nullptr || link->leader.load()) return std::nullopt;
  if (!needs_leader(method, request)) return std::nullopt;
  return leader_refusal(*link);
}

bool may_forward(const NodeContext& ctx, const auth::Caller& caller) {
  const auto* link = ctx.cluster.get();
  if (link == nullptr || !link->forwarder) return false;
  // Forwarded once already (the `forwarded` mark): the member that sent it took this one for
  // the leader, and this one does not lead. Sent on, it could come back and go round until
  // the forwarder's timeout; refused, the client retries and finds the leader.
  if (caller.forwarded) return false;
  // With auth on, only a token's identity travels: the forwarding connection presents this
  // member's own certificate, so a request identified by its client's certificate — or by
  // nothing at all — would run on the leader as this member's CN. Such a request is refused
  // here (Unavailable `not leader`: the client fails over, as without forwarding). With auth
  // off the certificate names no one that matters: the request may go.
  if (ctx.auth && ctx.auth->enabled() && (caller.by_certificate || !caller.token)) return false;
  uint64_t leader = link->leader_id.load();
  return leader != 0 && leader != link->member_id;
}

}  // namespace revkv::actors
