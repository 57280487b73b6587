#include "actors/cluster_api.hpp"

#include "actors/cluster_gate.hpp"
#include "auth/check.hpp"
#include "auth/errors.hpp"
#include "cluster/members.hpp"
#include "protocol/cluster_method.hpp"
#include "protocol/codec.hpp"

#include <memory>
#include <msgpack.hpp>
#include <stdexcept>
#include <string>
#include <utility>

namespace revkv::actors {
namespace {

namespace p = protocol;
using p::WireError;

constexpr int64_t kUnknown = 2;
constexpr int64_t kInvalidArgument = 3;
constexpr int64_t kNotFound = 5;
constexpr int64_t kFailedPrecondition = 9;
constexpr int64_t kUnavailable = 14;

// Unknown, not rpctypes' FailedPrecondition: etcd's error map (v3rpc/util.go, 3.4 to 3.6)
// maps this error to the client-side EtcdError, not to a status, so grpc-go sends it as
// Unknown with the message; etcd 3.4.23 answers so (tests/etcdapi/python_etcd3_test.py).
WireError not_enough_started() {
  return {kUnknown, "etcdserver: re-configuration failed due to not enough started members"};
}
WireError member_not_found() {
  return {kNotFound, "etcdserver: member not found"};
}
WireError not_learner() {
  return {kFailedPrecondition, "etcdserver: can only promote a learner member"};
}
WireError not_leader() {
  return {kUnavailable, "etcdserver: not leader"};
}

// A single node refuses every change as etcd does when a change would leave too few
// started members (itself) or names no member.
WireError refuse_single(const NodeContext& ctx, uint64_t id) {
  return id == ctx.member_id ? not_enough_started() : member_not_found();
}

// With auth enabled, member changes want the root role (etcd's isAdminPermitted).
std::optional<WireError> require_root(const NodeContext& ctx, const auth::Caller& caller) {
  if (caller.bad_token) return auth::errors::invalid_auth_token();
  if (!ctx.auth || !ctx.auth->enabled()) return std::nullopt;
  return auth::check_admin(*ctx.auth->state(), caller);
}

// etcd's clientURLs of a member as the door asking sees them: this member's own door URL,
// else what the member published through the log (docs/CLUSTER.md "Forwarding").
std::vector<std::string> client_urls_of(const NodeContext& ctx, Door door, uint64_t id) {
  if (id == ctx.member_id) {
    auto own = ctx.door_urls.get(door);
    if (!own.empty()) return {std::move(own)};
  }
  if (ctx.cluster) {
    if (auto published = ctx.cluster->attributes_of(id))
      return {door == Door::grpc ? published->grpc_url() : published->msgpack_url()};
  }
  return {};
}

p::ClusterMember to_member(const NodeContext& ctx, Door door, const ClusterLink::Member& m,
                           bool with_client_urls) {
  p::ClusterMember out;
  out.id = m.id;
  out.name = m.name;
  out.peer_urls.push_back(m.peer_url);
  if (with_client_urls) out.client_urls = client_urls_of(ctx, door, m.id);
  out.is_learner = m.learner;
  return out;
}

std::vector<p::ClusterMember> to_members(const NodeContext& ctx, Door door,
                                         const std::vector<ClusterLink::Member>& members) {
  std::vector<p::ClusterMember> out;
  for (const auto& m : members)
    out.push_back(to_member(ctx, door, m, true));
  return out;
}

// The leader's answer to a forwarded call, as this member answers its own: its header, and
// the client URLs of the door the call came through (the leader listed its MessagePack
// door's).
template <class Resp>
ClusterAnswer<Resp> relayed(const NodeContext& ctx, Door door, ClusterLink::ForwardedCall r) {
  if (auto* error = std::get_if<WireError>(&r)) return std::move(*error);
  const auto& bytes = std::get<std::string>(r);
  p::Decoded<Resp> decoded = WireError{};
  try {
    auto handle = msgpack::unpack(bytes.data(), bytes.size());
    decoded = p::decode_body<Resp>(handle.get());
  } catch (const std::exception& e) {
    decoded =
        WireError{kUnavailable, std::string("revkv: bad answer from the leader: ") + e.what()};
  }
  if (!decoded)
    return WireError{kUnavailable, "revkv: bad answer from the leader: " + decoded.error().message};
  Resp out = std::move(decoded).value();
  out.header = ctx.header(ctx.watermark.load());
  for (auto& m : out.members)
    m.client_urls = client_urls_of(ctx, door, m.id);
  return out;
}

// Cluster mode, on a member that does not lead: sends the change to the leader and relays
// its answer (true), or refuses it here (true); false on the leader. The identity rule of
// every forwarded request (actors/cluster_gate.hpp): with auth on only a token travels, so a
// caller without one meets this member's own root check, and one who passes it (a
// certificate's CN) is answered "not leader", as before forwarding existed.
template <class Resp, class Req>
bool forwarded(const NodeContextPtr& ctx, Door door, const auth::Caller& caller,
               p::ClusterMethod method, const Req& request, ClusterDone<Resp>& done) {
  auto* link = ctx->cluster.get();
  if (link == nullptr || link->leader.load()) return false;
  // Another member forwarded it here already (the loop marker, actors/cluster_gate.hpp):
  // refused, never sent on.
  if (caller.forwarded) {
    done(leader_refusal(*link).value_or(not_leader()));
    return true;
  }
  if (!link->forward_call) {
    done(not_leader());
    return true;
  }
  if (ctx->auth && ctx->auth->enabled() && (caller.by_certificate || !caller.token)) {
    auto refused = require_root(*ctx, caller);
    done(refused ? std::move(*refused) : not_leader());
    return true;
  }
  if (caller.bad_token) {
    done(auth::errors::invalid_auth_token());
    return true;
  }
  link->forward_call(std::string(p::cluster_method_name(method)), p::encode_to_string(request),
                     caller.token, [ctx, door, done = std::move(done)](auto answer) {
                       done(relayed<Resp>(*ctx, door, std::move(answer)));
                     });
  return true;
}

// On the leader: runs `change` (root only when auth is on) and answers once the new
// configuration committed (ClusterLink::change_members; a member that lost leadership
// meanwhile answers "not leader").
template <class Resp>
void change(const NodeContextPtr& ctx, Door door, const auth::Caller& caller,
            ClusterLink::MemberChange c, ClusterDone<Resp> done) {
  if (auto refused = require_root(*ctx, caller)) return done(std::move(*refused));
  ctx->cluster->change_members(
      std::move(c), [ctx, door, done = std::move(done)](ClusterLink::MemberChangeResult result) {
        if (result.code != 0) return done(WireError{result.code, std::move(result.message)});
        Resp out;
        out.header = ctx->header(ctx->watermark.load());
        out.members = to_members(*ctx, door, result.members);
        // The new member has not started: no name, no client URLs (etcd's answer).
        if constexpr (std::is_same_v<Resp, p::MemberAddResponse>)
          out.member = to_member(*ctx, door, result.member, false);
        done(std::move(out));
      });
}

}  // namespace

p::MembersResponse member_list(const NodeContext& ctx, Door door) {
  p::MembersResponse out;
  out.header = ctx.header(ctx.watermark.load());
  if (const auto* link = ctx.cluster.get()) {
    // Every member of the Raft configuration; client URLs for this one and for those that
    // published theirs through the log.
    out.members = to_members(ctx, door, link->members());
    return out;
  }
  // A single node: itself, named "default" (etcd's default --name), no peer URLs (nothing
  // listens for peers), this door's URL as its client URL.
  p::ClusterMember self;
  self.id = ctx.member_id;
  self.name = "default";
  self.client_urls = client_urls_of(ctx, door, ctx.member_id);
  out.members.push_back(std::move(self));
  return out;
}

void member_add(const NodeContextPtr& ctx, Door door, const auth::Caller& caller,
                const p::MemberAddRequest& request, ClusterDone<p::MemberAddResponse> done) {
  // etcd checks the URLs before anything else, a single node's refusal included.
  if (!cluster::etcd_member_urls_valid(request.peer_urls))
    return done(WireError{kInvalidArgument, "etcdserver: given member URLs are invalid"});
  if (!ctx->cluster) return done(not_enough_started());
  // libraft knows a member by one address (its transport dials exactly that).
  if (request.peer_urls.size() != 1)
    return done(WireError{kInvalidArgument, "revkv: a member has exactly one peer URL (got " +
                                                std::to_string(request.peer_urls.size()) + ")"});
  ClusterLink::MemberChange c;
  c.kind = ClusterLink::MemberChange::Kind::add;
  try {
    c.peer_address = cluster::parse_peer_url(request.peer_urls[0]);
  } catch (const std::exception& e) {
    return done(WireError{kInvalidArgument, std::string("revkv: ") + e.what()});
  }
  c.learner = request.is_learner;
  if (forwarded(ctx, door, caller, p::ClusterMethod::member_add, request, done)) return;
  change(ctx, door, caller, std::move(c), std::move(done));
}

void member_remove(const NodeContextPtr& ctx, Door door, const auth::Caller& caller,
                   const p::MemberIdRequest& request, ClusterDone<p::MembersResponse> done) {
  if (!ctx->cluster) return done(refuse_single(*ctx, request.id));
  if (forwarded(ctx, door, caller, p::ClusterMethod::member_remove, request, done)) return;
  ClusterLink::MemberChange c;
  c.kind = ClusterLink::MemberChange::Kind::remove;
  c.id = request.id;
  change(ctx, door, caller, std::move(c), std::move(done));
}

void member_update(const NodeContextPtr& ctx, Door, const auth::Caller& caller,
                   const p::MemberUpdateRequest& request, ClusterDone<p::MembersResponse> done) {
  if (!ctx->cluster) return done(refuse_single(*ctx, request.id));
  if (auto refused = require_root(*ctx, caller)) return done(std::move(*refused));
  if (!ctx->cluster->is_member(request.id)) return done(member_not_found());
  // libraft 0.15 has no way to change a member's address: its configuration entries only
  // add, assign and remove (docs/CLUSTER.md "Membership"). Every member answers so: the
  // refusal needs no leader.
  done(WireError{kFailedPrecondition,
                 "revkv: member update is not supported: the Raft library cannot change a "
                 "member's peer URL; remove the member and add it again"});
}

void member_promote(const NodeContextPtr& ctx, Door door, const auth::Caller& caller,
                    const p::MemberIdRequest& request, ClusterDone<p::MembersResponse> done) {
  if (!ctx->cluster) return done(request.id == ctx->member_id ? not_learner() : member_not_found());
  if (forwarded(ctx, door, caller, p::ClusterMethod::member_promote, request, done)) return;
  ClusterLink::MemberChange c;
  c.kind = ClusterLink::MemberChange::Kind::promote;
  c.id = request.id;
  change(ctx, door, caller, std::move(c), std::move(done));
}

void move_leader(const NodeContextPtr& ctx, const p::MoveLeaderRequest& request,
                 ClusterDone<p::MoveLeaderResponse> done) {
  // etcd (v3rpc maintenance.go, v3_server.go MoveLeader): only the leader moves leadership
  // (a follower refuses: etcdctl sends it to the leader's endpoint); a transferee that is
  // not a member is refused with ErrBadLeaderTransferee; a transfer to the leader itself
  // returns at once; a transfer that does not complete in time is ErrTimeoutLeaderTransfer,
  // which etcd leaves untranslated (code Unknown). Not permission-checked, as in etcd 3.4.
  const auto* link = ctx->cluster.get();
  if (link && !link->leader.load()) return done(not_leader());
  const uint64_t target = request.target_id;
  bool member = target == ctx->member_id;
  if (link) member = member || link->is_member(target);
  if (!member) return done(WireError{kFailedPrecondition, "etcdserver: bad leader transferee"});
  auto answered = [ctx] {
    p::MoveLeaderResponse out;
    out.header = ctx->header(ctx->watermark.load());
    return out;
  };
  if (target == ctx->member_id || !link || !link->transfer) return done(answered());
  link->transfer(target, [answered, done = std::move(done)](std::optional<std::string> error) {
    if (!error) return done(answered());
    int64_t code = kUnavailable;  // not leader, server stopped
    if (*error == "etcdserver: bad leader transferee")
      code = kFailedPrecondition;
    else if (*error == "etcdserver: request timed out, leader transfer took too long")
      code = kUnknown;
    done(WireError{code, std::move(*error)});
  });
}

}  // namespace revkv::actors
