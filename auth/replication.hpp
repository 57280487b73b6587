#pragma once

// The payloads of the auth store's Raft entries in cluster mode (docs/SECURITY.md
// "Replication"), inside an actors/state_change.hpp entry of kind `auth`:
//   'r' + records   a change the leader evaluated: the auth column's records it writes
//                   (auth/records.hpp), as a serialized storage::WriteBatch
//   't' + grant     a simple token Authenticate assigns once the leader checked the
//                   password: the token is `prefix.INDEX`, INDEX the entry's log index, as
//                   etcd names it, so every member derives the same token
// Every member applies them in log order, so every member holds the same users, roles,
// flag, revision and tokens.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace revkv::auth {

struct TokenGrant {
  // The auth revision the password was checked at: a member applies the grant only while
  // its state is still at that revision (a change in between, e.g. a new password, may
  // have made the check stale; the leader then checks again).
  uint64_t revision = 0;
  std::string prefix;  // random letters
  std::string user;
};

struct AuthPayload {
  std::optional<std::string_view> records;  // 'r'
  std::optional<TokenGrant> grant;          // 't'
};

std::string encode_records_payload(std::string_view batch);
std::string encode_grant_payload(const TokenGrant& grant);
// Empty when the bytes are neither.
std::optional<AuthPayload> decode_auth_payload(std::string_view bytes);

// The token a grant applied at log index `index` names.
inline std::string granted_token(const TokenGrant& grant, uint64_t index) {
  return grant.prefix + "." + std::to_string(index);
}

}  // namespace revkv::auth
