#include "auth/token_spec.hpp"

#include <cmath>
#include <optional>
#include <set>
#include <vector>

namespace revkv::auth {
namespace {

std::vector<std::string_view> split(std::string_view text, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t pos = text.find(sep, start);
    out.push_back(text.substr(start, pos == std::string_view::npos ? pos : pos - start));
    if (pos == std::string_view::npos) return out;
    start = pos + 1;
  }
}

std::optional<double> unit_ns(std::string_view unit) {
  if (unit == "ns") return 1.0;
  if (unit == "us" || unit == "\xC2\xB5s" || unit == "\xCE\xBCs") return 1e3;
  if (unit == "ms") return 1e6;
  if (unit == "s") return 1e9;
  if (unit == "m") return 60e9;
  if (unit == "h") return 3600e9;
  return std::nullopt;
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

}  // namespace

std::optional<std::chrono::nanoseconds> parse_go_duration(std::string_view text) {
  if (text == "0") return std::chrono::nanoseconds(0);
  if (text.empty()) return std::nullopt;
  double total = 0;
  size_t i = 0;
  while (i < text.size()) {
    size_t start = i;
    while (i < text.size() && is_digit(text[i]))
      ++i;
    size_t int_end = i;
    if (i < text.size() && text[i] == '.') {
      ++i;
      while (i < text.size() && is_digit(text[i]))
        ++i;
    }
    // A number needs a digit on one side of the dot (".5s" and "5.s" are Go's too).
    if (int_end == start && i <= int_end + 1) return std::nullopt;
    double value = std::stod(std::string(text.substr(start, i - start)));
    size_t unit_start = i;
    while (i < text.size() && !is_digit(text[i]) && text[i] != '.')
      ++i;
    auto scale = unit_ns(text.substr(unit_start, i - unit_start));
    if (!scale) return std::nullopt;
    total += value * *scale;
    if (total > 9.2e18) return std::nullopt;  // Go's limit: ~292 years
  }
  return std::chrono::nanoseconds(static_cast<int64_t>(std::llround(total)));
}

std::variant<TokenSpec, std::string> parse_token_spec(std::string_view text) {
  auto parts = split(text, ',');
  TokenSpec spec;
  if (parts[0] == "simple") {
    if (parts.size() > 1) return std::string("--auth-token: simple takes no options");
    return spec;
  }
  if (parts[0] != "jwt")
    return "--auth-token: expected simple or jwt,..., got '" + std::string(parts[0]) + "'";
  spec.kind = TokenSpec::Kind::jwt;
  std::set<std::string_view> seen;
  std::optional<std::string_view> ttl;
  for (size_t i = 1; i < parts.size(); ++i) {
    auto pair = split(parts[i], '=');
    if (pair.size() != 2 || pair[0].empty())
      return "--auth-token: expected NAME=VALUE, got '" + std::string(parts[i]) + "'";
    if (!seen.insert(pair[0]).second)
      return "--auth-token: option " + std::string(pair[0]) + " given twice";
    if (pair[0] == "sign-method") {
      spec.sign_method = pair[1];
    } else if (pair[0] == "pub-key") {
      spec.pub_key = pair[1];
    } else if (pair[0] == "priv-key") {
      spec.priv_key = pair[1];
    } else if (pair[0] == "ttl") {
      ttl = pair[1];
    } else {
      return "--auth-token: unknown option '" + std::string(pair[0]) +
             "' (known: sign-method, pub-key, priv-key, ttl)";
    }
  }
  if (spec.sign_method.empty())
    return std::string("--auth-token: jwt needs sign-method= (RS256, PS256, ES256, HS256, ...)");
  if (ttl) {
    auto parsed = parse_go_duration(*ttl);
    // exp is in whole seconds: a shorter ttl would hand out tokens already expired.
    if (!parsed || *parsed < std::chrono::seconds(1))
      return "--auth-token: ttl: expected a duration of at least 1s such as 5m or 1h, got '" +
             std::string(*ttl) + "'";
    spec.ttl = std::chrono::duration_cast<std::chrono::seconds>(*parsed);
  }
  if (spec.pub_key.empty() && spec.priv_key.empty())
    return std::string(
        "--auth-token: jwt needs priv-key= (to sign and verify) or pub-key= (to "
        "verify only)");
  return spec;
}

}  // namespace revkv::auth
