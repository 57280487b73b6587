#pragma once

// The MessagePack doors' Auth.* calls, run off CAF's scheduler (docs/PROTOCOL.md "Auth.*").
// An Authenticate, a user added or a password changed hashes a password with bcrypt at
// etcd's cost: tens of ms of CPU. Run by a door on a scheduler thread, as they once were,
// two connections pipelining failed logins held both threads and every other client's
// requests waited seconds. One detached actor per node serves them in the order each door
// sends them (a door's auth calls keep their order), the doors taking turns one call at a
// time (one connection's hundreds of pipelined logins delay another's by one), and drops
// the calls of a door that is gone; a door answers them as their replies come, outside
// its KV request path, as before.
//
//   (auth_call_atom, AuthCallPtr) -> std::string   the encoded answer frame

#include "actors/node_context.hpp"
#include "protocol/frame.hpp"

#include <caf/actor.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <caf/fwd.hpp>

#include <memory>
#include <optional>
#include <string>

namespace revkv::actors {

using auth_call_atom = caf::atom_constant<caf::atom("authcall")>;

struct AuthCall {
  protocol::RequestFrame frame;  // owns its body (protocol/frame.hpp)
  std::optional<std::string> certificate_cn;
};
using AuthCallPtr = std::shared_ptr<AuthCall>;

caf::actor spawn_auth_runner(caf::actor_system& sys, NodeContextPtr ctx);

}  // namespace revkv::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(revkv::actors::AuthCallPtr)
