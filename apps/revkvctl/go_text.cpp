#include "apps/revkvctl/go_text.hpp"

#include "util/utf8.hpp"

#include <cmath>
#include <cstdio>
#include <limits>

namespace revkv::ctl {
namespace {

// The code point of the valid UTF-8 sequence of `n` bytes at `p`.
uint32_t decode_rune(const unsigned char* p, std::size_t n) {
  if (n == 1) return p[0];
  uint32_t rune = p[0] & (0x7f >> n);
  for (std::size_t i = 1; i < n; ++i)
    rune = (rune << 6) | (p[i] & 0x3f);
  return rune;
}

// Go's unicode.IsPrint, approximated for what keys and values hold: controls (C0, DEL, C1),
// the surrogate-free private/format ranges Go treats as non-printable and the non-ASCII
// spaces are escaped; letters, marks, symbols and punctuation are kept.
bool printable(uint32_t r) {
  if (r < 0x20 || r == 0x7f) return false;
  if (r >= 0x80 && r < 0xa0) return false;
  if (r == 0xad) return false;                   // soft hyphen (Cf)
  if (r >= 0x2000 && r <= 0x200f) return false;  // spaces and format characters
  if (r >= 0x2028 && r <= 0x202f) return false;  // separators and bidi controls
  if (r >= 0x2060 && r <= 0x206f) return false;  // invisible operators
  if (r == 0xfeff || (r >= 0xfff9 && r <= 0xfffb)) return false;
  if (r >= 0xe000 && r <= 0xf8ff) return false;  // private use
  if (r >= 0xf0000) return false;                // supplementary private use
  if ((r & 0xfffe) == 0xfffe) return false;      // noncharacters
  return true;
}

void append_hex(std::string& out, const char* prefix, uint32_t v, int digits) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%s%0*x", prefix, digits, static_cast<unsigned>(v));
  out += buf;
}

}  // namespace

std::string go_quote(std::string_view text) {
  std::string out = "\"";
  const auto* bytes = reinterpret_cast<const unsigned char*>(text.data());
  for (std::size_t i = 0; i < text.size();) {
    std::size_t n = util::utf8::sequence_length(text, i);
    if (n == 0) {  // not UTF-8: the byte
      append_hex(out, "\\x", bytes[i], 2);
      ++i;
      continue;
    }
    uint32_t r = decode_rune(bytes + i, n);
    switch (r) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\a':
        out += "\\a";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\v':
        out += "\\v";
        break;
      default:
        if (printable(r))
          out.append(text.substr(i, n));
        else if (r < 0x80)
          append_hex(out, "\\x", r, 2);
        else if (r < 0x10000)
          append_hex(out, "\\u", r, 4);
        else
          append_hex(out, "\\U", r, 8);
    }
    i += n;
  }
  return out + "\"";
}

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
