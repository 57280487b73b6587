#pragma once

// Who sent a request, as a door learned it: no token, a token that named a user, or a
// token that named nobody (forged, expired, of a deleted user). Doors resolve the token
// (auth/store.hpp) and the request path checks what the user may do (auth/check.hpp).

#include <cstdint>
#include <optional>
#include <string>

namespace revkv::auth {

struct Caller {
  std::optional<std::string> user;
  bool bad_token = false;  // a token was given and names no one: etcd's invalid auth token
  // A JWT's `revision` claim: the auth revision it was issued at (auth/jwt.hpp). 0 for a
  // simple token or a certificate's CN, which are always current (etcd's simple tokens
  // carry the store's revision at each use).
  uint64_t token_revision = 0;
  // Cluster mode: the token as the door received it, which a follower forwards with the
  // request to the leader (docs/CLUSTER.md "Forwarding"); and whether `user` came from the
  // connection's client certificate, an identity that cannot be forwarded.
  std::optional<std::string> token;
  bool by_certificate = false;
  // Cluster mode: the request came marked `forwarded` (another member's forwarder sent it,
  // docs/PROTOCOL.md "Framing"). A member that does not lead refuses it instead of
  // forwarding it again (actors/cluster_gate.hpp). No trust is needed: the mark takes
  // forwarding away, and gives only a read's exemption from the MessagePack door's read
  // turns (RequestPath::ReadTurns), whose memory the door's own bound still caps (256
  // requests taken: the bound before the turns).
  bool forwarded = false;

  static Caller anonymous() { return {}; }
  static Caller named(std::string name) {
    return Caller{std::move(name), false, 0, {}, false, false};
  }
  static Caller from_jwt(std::string name, uint64_t revision) {
    return Caller{std::move(name), false, revision, {}, false, false};
  }
  static Caller invalid() { return Caller{std::nullopt, true, 0, {}, false, false}; }
};

}  // namespace revkv::auth
