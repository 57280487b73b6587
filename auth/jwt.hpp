#pragma once

// etcd's JWT token provider (--auth-token jwt,...; docs/SECURITY.md "JWT tokens"): a token
// is header.claims.signature, signed with the configured method and key (auth/jwt_key.hpp),
// carrying etcd's claims {"exp", "revision", "username"}. Stateless: any node holding the
// key verifies it, nothing is stored, and it stays valid until `exp` — except that a token
// whose `revision` is older than the auth store's is refused on KV requests (etcd's
// "revision of auth store is old", auth/check.hpp), so any auth change (a role revoked, a
// user deleted, a password changed) ends every token issued before it for those requests.
//
// Verification is strict and bounded, so that a hostile token costs little and gets only
// "invalid auth token": at most kMaxTokenBytes; exactly three base64url parts; the header a
// small JSON object whose "alg" is the configured method (so "none" or a swapped algorithm
// never passes); the signature checked before the claims are parsed; then "username" (a
// string), "revision" (an unsigned integer) and "exp" (a number, now < exp in whole
// seconds; "nbf" and "iat", if present, not in the future, as etcd's golang-jwt checks them).

#include "auth/jwt_key.hpp"
#include "auth/token_spec.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace revkv::auth {

struct JwtClaims {
  std::string username;
  uint64_t revision = 0;
  int64_t exp = 0;  // Unix seconds
};

class JwtTokens {
 public:
  using Clock = std::chrono::system_clock;
  static constexpr size_t kMaxTokenBytes = 8192;
  static constexpr size_t kMaxHeaderBytes = 512;  // decoded

  // Loads the keys of a jwt spec; a one-line startup error otherwise.
  static std::variant<std::shared_ptr<const JwtTokens>, std::string> load(const TokenSpec& spec);
  JwtTokens(std::unique_ptr<JwtKey> key, std::chrono::seconds ttl);

  // etcd's verify-only member (pub-key without priv-key): verifies, cannot sign.
  bool verify_only() const { return !key_->can_sign(); }
  std::chrono::seconds ttl() const { return ttl_; }
  const std::string& method() const { return key_->method(); }

  // A token for `user` at auth revision `revision`, expiring at now + ttl; nullopt when
  // verify-only or OpenSSL failed.
  std::optional<std::string> assign(std::string_view user, uint64_t revision,
                                    Clock::time_point now = Clock::now()) const;
  // The claims of a valid, unexpired token signed with this key; nullopt otherwise.
  std::optional<JwtClaims> verify(std::string_view token,
                                  Clock::time_point now = Clock::now()) const;

 private:
  std::unique_ptr<JwtKey> key_;
  std::chrono::seconds ttl_;
};

}  // namespace revkv::auth
