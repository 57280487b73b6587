#include "auth/jwt.hpp"

#include "auth/base64url.hpp"

#include <nlohmann/json.hpp>

namespace revkv::auth {
namespace {

using nlohmann::json;

int64_t unix_seconds(JwtTokens::Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

// A JSON object, or nullopt (malformed JSON, or not an object). Never throws.
std::optional<json> parse_object(std::string_view text) {
  json doc = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) return std::nullopt;
  return doc;
}

// A numeric claim as Unix seconds (golang-jwt decodes JSON numbers as float64 and compares
// whole seconds); nullopt when absent, throws nothing.
std::optional<double> number_claim(const json& claims, const char* name) {
  auto it = claims.find(name);
  if (it == claims.end() || !it->is_number()) return std::nullopt;
  return it->get<double>();
}

}  // namespace

std::variant<std::shared_ptr<const JwtTokens>, std::string> JwtTokens::load(const TokenSpec& spec) {
  auto key = JwtKey::load(spec.sign_method, spec.pub_key, spec.priv_key);
  if (auto* error = std::get_if<std::string>(&key)) return *error;
  return std::make_shared<const JwtTokens>(std::get<std::unique_ptr<JwtKey>>(std::move(key)),
                                           spec.ttl);
}

JwtTokens::JwtTokens(std::unique_ptr<JwtKey> key, std::chrono::seconds ttl)
    : key_(std::move(key)), ttl_(ttl) {}

std::optional<std::string> JwtTokens::assign(std::string_view user, uint64_t revision,
                                             Clock::time_point now) const {
  if (!key_->can_sign()) return std::nullopt;
  // etcd's header and claims; nlohmann's objects keep their keys sorted, as Go's maps
  // marshal, so the JSON reads as etcd's does.
  json header = {{"alg", key_->method()}, {"typ", "JWT"}};
  json claims = {
      {"username", std::string(user)}, {"revision", revision}, {"exp", unix_seconds(now + ttl_)}};
  // Names are bytes; an invalid UTF-8 user name is written with U+FFFD, as Go would.
  std::string input = base64url_encode(header.dump()) + "." +
                      base64url_encode(claims.dump(-1, ' ', false, json::error_handler_t::replace));
  auto signature = key_->sign(input);
  if (!signature) return std::nullopt;
  return input + "." + base64url_encode(*signature);
}

std::optional<JwtClaims> JwtTokens::verify(std::string_view token, Clock::time_point now) const {
  if (token.size() > kMaxTokenBytes) return std::nullopt;
  size_t first = token.find('.');
  if (first == std::string_view::npos) return std::nullopt;
  size_t second = token.find('.', first + 1);
  if (second == std::string_view::npos || token.find('.', second + 1) != std::string_view::npos)
    return std::nullopt;
  std::string_view header_b64 = token.substr(0, first);
  std::string_view claims_b64 = token.substr(first + 1, second - first - 1);
  std::string_view signature_b64 = token.substr(second + 1);

  // The header names the algorithm; only the configured one is accepted (never "none").
  if (header_b64.size() > kMaxHeaderBytes * 4 / 3 + 4) return std::nullopt;
  auto header_text = base64url_decode(header_b64);
  if (!header_text) return std::nullopt;
  auto header = parse_object(*header_text);
  if (!header) return std::nullopt;
  auto alg = header->find("alg");
  if (alg == header->end() || !alg->is_string() || alg->get<std::string>() != key_->method())
    return std::nullopt;

  auto signature = base64url_decode(signature_b64);
  if (!signature || !key_->verify(token.substr(0, second), *signature)) return std::nullopt;

  // Signed by the key's holder: the claims can be trusted to be ours (still checked).
  auto claims_text = base64url_decode(claims_b64);
  if (!claims_text) return std::nullopt;
  auto claims = parse_object(*claims_text);
  if (!claims) return std::nullopt;
  auto username = claims->find("username");
  auto revision = claims->find("revision");
  if (username == claims->end() || !username->is_string()) return std::nullopt;
  if (revision == claims->end() || !revision->is_number_unsigned()) return std::nullopt;
  auto exp = number_claim(*claims, "exp");
  if (!exp) return std::nullopt;
  double seconds = static_cast<double>(unix_seconds(now));
  // etcd 3.4.23's golang-jwt v4: valid while the whole seconds of now are before exp
  // (measured against a real etcd: refused from the second exp on).
  if (seconds >= *exp) return std::nullopt;
  if (auto nbf = number_claim(*claims, "nbf"); nbf && seconds < *nbf) return std::nullopt;
  if (auto iat = number_claim(*claims, "iat"); iat && seconds < *iat) return std::nullopt;
  JwtClaims out;
  out.username = username->get<std::string>();
  out.revision = revision->get<uint64_t>();
  out.exp = static_cast<int64_t>(*exp);
  return out;
}

}  // namespace revkv::auth
