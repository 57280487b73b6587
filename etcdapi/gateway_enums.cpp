#include "etcdapi/gateway_enums.hpp"

#include "util/utf8.hpp"

#include <cstdint>
#include <optional>
#include <utility>

namespace revkv::etcdapi::gateway {

namespace {


constexpr char kHex[] = "0123456789abcdef";

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

// The code point at text[i] and its length; length 1 with no code point for a byte that
// does not start valid UTF-8 (Go's utf8.DecodeRuneInString).
std::pair<std::optional<uint32_t>, std::size_t> decode(std::string_view text, std::size_t i) {
  const std::size_t length = util::utf8::sequence_length(text, i);
  if (length == 0) return {std::nullopt, 1};
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(text[i + k]); };
  switch (length) {
    case 1:
      return {b(0), 1};
    case 2:
      return {((b(0) & 0x1fu) << 6) | (b(1) & 0x3fu), 2};
    case 3:
      return {((b(0) & 0x0fu) << 12) | ((b(1) & 0x3fu) << 6) | (b(2) & 0x3fu), 3};
    default:
      return {
          ((b(0) & 0x07u) << 18) | ((b(1) & 0x3fu) << 12) | ((b(2) & 0x3fu) << 6) | (b(3) & 0x3fu),
          4};
  }
}

bool printable(uint32_t r) {
  if (r < 0x80) return r >= 0x20 && r < 0x7f;
  if (r < 0xa0 || r == 0xa0 || r == 0xad) return false;
  if ((r >= 0x600 && r <= 0x605) || r == 0x61c || r == 0x6dd || r == 0x70f || r == 0x180e ||
      r == 0x1680)
    return false;
  if ((r >= 0x2000 && r <= 0x200f) || (r >= 0x2028 && r <= 0x202f) ||
      (r >= 0x205f && r <= 0x206f) || r == 0x3000)
    return false;
  if ((r >= 0xd800 && r <= 0xf8ff) || r == 0xfeff || (r >= 0xfff9 && r <= 0xfffb) || r == 0xfffe ||
      r == 0xffff)
    return false;
  if (r >= 0xe0000) return false;  // tags, variation selectors' plane, private use
  return true;
}

}  // namespace

std::string go_enum_type(const google::protobuf::EnumDescriptor& e) {
  const std::string& package = e.file()->package();
  std::string name = e.full_name().substr(package.empty() ? 0 : package.size() + 1);
  for (char& c : name)
    if (c == '.') c = '_';
  return package.empty() ? name : package + "." + name;
}

std::string go_quote(std::string_view text) {
  std::string out = "\"";
  for (std::size_t i = 0; i < text.size();) {
    const auto [decoded, length] = decode(text, i);
    const auto first = static_cast<unsigned char>(text[i]);
    i += length;
    if (!decoded) {
      out += "\\x";
      out += kHex[first >> 4];
      out += kHex[first & 0xf];
      continue;
    }
    const uint32_t r = *decoded;
    if (r == '"' || r == '\\') {
      out += '\\';
      out += static_cast<char>(r);
      continue;
    }
    if (printable(r)) {
      append_utf8(out, r);
      continue;
    }
    switch (r) {
      case '\a':
        out += "\\a";
        continue;
      case '\b':
        out += "\\b";
        continue;
      case '\f':
        out += "\\f";
        continue;
      case '\n':
        out += "\\n";
        continue;
      case '\r':
        out += "\\r";
        continue;
      case '\t':
        out += "\\t";
        continue;
      case '\v':
        out += "\\v";
        continue;
      default:
        break;
    }
    if (r < 0x20 || r == 0x7f) {
      out += "\\x";
      out += kHex[r >> 4];
      out += kHex[r & 0xf];
    } else if (r < 0x10000) {
      out += "\\u";
      for (int shift = 12; shift >= 0; shift -= 4)
        out += kHex[(r >> shift) & 0xf];
    } else {
      out += "\\U";
      for (int shift = 28; shift >= 0; shift -= 4)
        out += kHex[(r >> shift) & 0xf];
    }
  }
  return out + "\"";
}

}  // namespace revkv::etcdapi::gateway
