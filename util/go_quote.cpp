#include "util/go_quote.hpp"

#include "util/utf8.hpp"

namespace revkv::util {

namespace {

constexpr char kHex[] = "0123456789abcdef";

void append_hex(std::string& out, const char* prefix, uint32_t value, int digits) {
  out += prefix;
  for (int shift = 4 * (digits - 1); shift >= 0; shift -= 4)
    out += kHex[(value >> shift) & 0xf];
}

// The code point of the valid UTF-8 sequence of `length` bytes at text[i].
uint32_t decode(std::string_view text, std::size_t i, std::size_t length) {
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(text[i + k]); };
  if (length == 1) return b(0);
  uint32_t rune = b(0) & (0x7fu >> length);
  for (std::size_t k = 1; k < length; ++k)
    rune = (rune << 6) | (b(k) & 0x3fu);
  return rune;
}

// Go's unicode.IsPrint for the code points text holds in practice: controls, non-ASCII
// spaces, format characters, surrogates, private use and noncharacters are not printable.
bool printable(uint32_t r) {
  if (r < 0x80) return r >= 0x20 && r < 0x7f;
  if (r <= 0xa0 || r == 0xad) return false;
  if ((r >= 0x600 && r <= 0x605) || r == 0x61c || r == 0x6dd || r == 0x70f || r == 0x180e ||
      r == 0x1680)
    return false;
  if ((r >= 0x2000 && r <= 0x200f) || (r >= 0x2028 && r <= 0x202f) ||
      (r >= 0x205f && r <= 0x206f) || r == 0x3000)
    return false;
  if ((r >= 0xd800 && r <= 0xf8ff) || r == 0xfeff || (r >= 0xfff9 && r <= 0xfffb)) return false;
  if ((r & 0xfffe) == 0xfffe) return false;       // noncharacters
  if (r >= 0xe0000 && r < 0xe0100) return false;  // tags
  if (r >= 0xf0000) return false;                 // supplementary private use
  return true;
}

// The escape strconv.Quote writes for `r` (quotes and backslash included), or "" when it
// writes the rune as it is.
std::string escape(uint32_t r) {
  switch (r) {
    case '"':
      return "\\\"";
    case '\\':
      return "\\\\";
    case '\a':
      return "\\a";
    case '\b':
      return "\\b";
    case '\f':
      return "\\f";
    case '\n':
      return "\\n";
    case '\r':
      return "\\r";
    case '\t':
      return "\\t";
    case '\v':
      return "\\v";
    default:
      break;
  }
  if (printable(r)) return {};
  std::string out;
  if (r < 0x80)
    append_hex(out, "\\x", r, 2);
  else if (r < 0x10000)
    append_hex(out, "\\u", r, 4);
  else
    append_hex(out, "\\U", r, 8);
  return out;
}

}  // namespace

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xc0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xe0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  }
}

std::string go_quote(std::string_view text) {
  std::string out = "\"";
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t length = utf8::sequence_length(text, i);
    if (length == 0) {  // not UTF-8: the byte
      append_hex(out, "\\x", static_cast<unsigned char>(text[i]), 2);
      ++i;
      continue;
    }
    const std::string escaped = escape(decode(text, i, length));
    if (escaped.empty())
      out.append(text.substr(i, length));
    else
      out += escaped;
    i += length;
  }
  return out + "\"";
}

std::string go_quoted_char(unsigned char c) {
  if (c == '\'') return "'\\''";
  if (c == '"') return "'\"'";
  std::string out = "'";
  const std::string escaped = escape(c);
  if (escaped.empty())
    append_utf8(out, c);
  else
    out += escaped;
  return out + "'";
}

}  // namespace revkv::util
