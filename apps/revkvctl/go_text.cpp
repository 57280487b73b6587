#include "apps/revkvctl/go_text.hpp"

#include <cmath>
#include <cstdio>
#include <limits>

namespace revkv::ctl {
std::string go_duration(int64_t ns) {
  if (ns == 0) return "0s";
  std::string sign = ns < 0 ? "-" : "";
  // |INT64_MIN| does not fit: Go prints it from the unsigned value too.
  uint64_t u = ns < 0 ? uint64_t(0) - static_cast<uint64_t>(ns) : static_cast<uint64_t>(ns);
  // A fraction with its trailing zeros dropped: "1.5", "2".
  auto fixed = [](uint64_t value, uint64_t unit, int digits) {
    std::string s = std::to_string(value / unit);
    uint64_t frac = value % unit;
    if (frac == 0) return s;
    std::string f = std::to_string(frac);
    f.insert(0, static_cast<std::size_t>(digits) - f.size(), '0');
    while (!f.empty() && f.back() == '0')
      f.pop_back();
    return s + "." + f;
  };
  if (u < 1'000'000'000) {
    if (u < 1000) return sign + std::to_string(u) + "ns";
    if (u < 1'000'000) return sign + fixed(u, 1000, 3) + "\xc2\xb5s";  // µs
    return sign + fixed(u, 1'000'000, 6) + "ms";
  }
  std::string out = sign;
  uint64_t hours = u / 3'600'000'000'000ULL;
  uint64_t rest = u % 3'600'000'000'000ULL;
  uint64_t minutes = rest / 60'000'000'000ULL;
  rest %= 60'000'000'000ULL;
  if (hours > 0) out += std::to_string(hours) + "h";
  if (hours > 0 || minutes > 0) out += std::to_string(minutes) + "m";
  return out + fixed(rest, 1'000'000'000, 9) + "s";
}

std::string go_parse_int_error(std::string_view text) {
  // Out of range only when every character is a digit (with an optional sign).
  bool digits = !text.empty();
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (!((c >= '0' && c <= '9') || (i == 0 && (c == '-' || c == '+') && text.size() > 1)))
      digits = false;
  }
  return "strconv.ParseInt: parsing " + go_quote(text) +
         (digits ? ": value out of range" : ": invalid syntax");
}

std::string human_bytes(uint64_t bytes) {
  static const char* kSizes[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB"};
  if (bytes < 10) return std::to_string(bytes) + " B";
  double e = std::floor(std::log(static_cast<double>(bytes)) / std::log(1000.0));
  double val = std::floor(static_cast<double>(bytes) / std::pow(1000.0, e) * 10 + 0.5) / 10;
  char buf[64];
  std::snprintf(buf, sizeof buf, val < 10 ? "%.1f %s" : "%.0f %s", val, kSizes[int(e)]);
  return buf;
}

}  // namespace revkv::ctl
