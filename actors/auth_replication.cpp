#include "actors/auth_replication.hpp"

#include "actors/cluster_gate.hpp"
#include "actors/forwarding.hpp"
#include "actors/state_change.hpp"
#include "protocol/codec.hpp"

#include <caf/all.hpp>

#include <chrono>
#include <exception>

namespace revkv::actors {
namespace {

// gRPC's Unavailable: the proposal's fate is about the cluster, not the request (etcd's
// "leader changed" and "server stopped" are Unavailable too); a client retries.
constexpr int64_t kUnavailable = 14;
// How long a follower waits to apply the grant of a token it relays (the leader has
// committed it already: this is the follower's lag, not a round trip).
constexpr std::chrono::milliseconds kGrantWait{5000};

// The log index a simple token names (prefix.INDEX, auth/replication.hpp); 0 for a JWT.
uint64_t grant_index(const std::string& encoded_result) {
  try {
    auto handle = msgpack::unpack(encoded_result.data(), encoded_result.size());
    auto decoded = protocol::decode_body<protocol::AuthenticateResponse>(handle.get());
    if (!decoded.ok()) return 0;
    const auto& token = decoded.value().token;
    auto dot = token.rfind('.');
    if (dot == std::string::npos || dot + 1 == token.size()) return 0;
    uint64_t index = 0;
    for (char ch : token.substr(dot + 1)) {
      if (ch < '0' || ch > '9') return 0;  // a JWT's signature part
      index = index * 10 + static_cast<uint64_t>(ch - '0');
    }
    return index;
  } catch (const std::exception&) {
    return 0;
  }
}

}  // namespace

void replicate_auth(NodeContext& ctx, caf::actor auth_forwarder) {
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
    // A follower that forwarded an Authenticate waits until it applied the grant's entry:
    // tell the followers of the commit now, not at the next heartbeat (auth changes are rare,
    // so every one announces rather than only those another member forwarded).
    if (link->announce_commit) link->announce_commit();
    return proposed.index;
  };
  if (!auth_forwarder) {
    ctx.auth->replicate_through(std::move(replicator));
    return;
  }
  // `ctx` owns the store, so it outlives every call of this hook. The worker is held
  // weakly: a strong handle in the store (which outlives the actor system) would keep the
  // detached worker's thread waiting for it, and revkvd from exiting.
  auto worker = caf::actor_cast<caf::weak_actor_ptr>(auth_forwarder);
  replicator.forward =
      [link, &ctx, worker](
          protocol::AuthMethod method, std::string body,
          const auth::Caller& caller) -> std::optional<auth::Replicator::Forwarded> {
    if (link->leader.load()) return std::nullopt;
    // Forwarded here by another member already: refused at once, never sent on (the loop
    // marker, cluster_gate.hpp), Authenticate included.
    if (caller.forwarded) {
      if (auto refused = leader_refusal(*link)) return auth::Replicator::Forwarded{*refused};
      return std::nullopt;
    }
    // The identity rule of every forwarded request (cluster_gate.hpp), except for
    // Authenticate: it carries its own credentials, and no token yet.
    bool authenticate = method == protocol::AuthMethod::authenticate;
    if (!authenticate && !may_forward(ctx, caller)) return std::nullopt;
    uint64_t leader = link->leader_id.load();
    if (leader == 0 || leader == link->member_id) return std::nullopt;
    // The caller is a gRPC handler's thread or a MessagePack auth runner's (both block on
    // auth calls anyway: bcrypt, a proposal); the auth worker is detached, so this wait
    // needs no scheduler thread.
    auto target = caf::actor_cast<caf::actor>(worker.lock());
    if (!target) return protocol::WireError{kUnavailable, "etcdserver: server stopped"};
    caf::scoped_actor self{target->home_system(), /*hide=*/true};
    auth::Replicator::Forwarded out = protocol::WireError{kUnavailable, "etcdserver: not leader"};
    self->request(target, caf::infinite, forward_auth_atom::value,
                  AuthForwardCall{method, std::move(body), caller.token})
        .receive([&](AuthForwarded& answer) { out = std::move(answer); },
                 [&](caf::error& err) {
                   out = protocol::WireError{kUnavailable,
                                             "revkv: forwarding failed: " + caf::to_string(err)};
                 });
    // etcd answers an Authenticate once the member asked applied it, so its token works
    // there at once: wait for the grant's entry (a simple token names its index).
    if (authenticate) {
      if (const auto* result = std::get_if<std::string>(&out)) {
        if (uint64_t index = grant_index(*result); index != 0)
          link->wait_applied(index, kGrantWait);
      }
    }
    return out;
  };
  ctx.auth->replicate_through(std::move(replicator));
}

}  // namespace revkv::actors
