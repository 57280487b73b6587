#pragma once

// etcd's --auth-token value: `simple` (the default) or
// `jwt,sign-method=RS256,pub-key=PATH,priv-key=PATH,ttl=5m` (docs/SECURITY.md "JWT
// tokens"). Parsed here, before any file is read; auth/jwt.hpp loads the keys it names.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace revkv::auth {

struct TokenSpec {
  enum class Kind { simple, jwt };
  Kind kind = Kind::simple;
  // jwt only.
  std::string sign_method;
  std::string pub_key;            // path, may be empty
  std::string priv_key;           // path, may be empty
  std::chrono::seconds ttl{300};  // etcd's default: 5m
};

// The spec, or a one-line error naming what is wrong (an unknown token type or option, an
// option given twice or without `=value`, a missing sign-method, a bad ttl). Stricter than
// etcd 3.4 on one point: an unknown option is an error, not ignored, so a typo
// (`priv_key=`) cannot silently leave the node without a signing key.
std::variant<TokenSpec, std::string> parse_token_spec(std::string_view text);

// Go's time.ParseDuration for what a ttl needs ("5m", "1h30m", "90s", "1.5h"; units ns, us,
// ms, s, m, h), in nanoseconds; nullopt when malformed.
std::optional<std::chrono::nanoseconds> parse_go_duration(std::string_view text);

}  // namespace revkv::auth
