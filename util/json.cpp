#include "util/json.hpp"

#include "util/utf8.hpp"

#include <cctype>
#include <cstdint>

namespace revkv::util::json {

namespace {

constexpr char kHex[] = "0123456789abcdef";

void append_escaped(std::string& out, unsigned char c) {
  out += "\\u00";
  out += kHex[c >> 4];
  out += kHex[c & 0xf];
}

void write(std::string& out, const Json& value) {
  switch (value.type()) {
    case Json::value_t::object: {
      out += '{';
      bool first = true;
      for (const auto& [key, member] : value.items()) {
        if (!first) out += ',';
        first = false;
        out += quote(key);
        out += ':';
        write(out, member);
      }
      out += '}';
      return;
    }
    case Json::value_t::array: {
      out += '[';
      bool first = true;
      for (const auto& element : value) {
        if (!first) out += ',';
        first = false;
        write(out, element);
      }
      out += ']';
      return;
    }
    case Json::value_t::string:
      out += quote(value.get_ref<const std::string&>());
      return;
    case Json::value_t::binary:
      // Go writes a []byte as its base64 text.
      out += quote(base64(std::string_view(reinterpret_cast<const char*>(value.get_binary().data()),
                                           value.get_binary().size())));
      return;
    default:
      // Numbers, booleans and null: nlohmann writes them as Go does (integers in full).
      out += value.dump();
      return;
  }
}

// Go's encoding/json decoder names what it was looking for when a character was wrong;
// nlohmann's parse_error names the construct it was parsing. One onto the other.
std::string go_context(std::string_view nlohmann_message, std::string_view text, std::size_t at) {
  const char c = text[at];
  // Inside true/false/null: Go names the literal and the letter it expected.
  std::size_t start = at;
  while (start > 0 && std::isalpha(static_cast<unsigned char>(text[start - 1])))
    --start;
  if (start < at) {
    const std::string_view read = text.substr(start, at - start);
    for (std::string_view literal : {"true", "false", "null"})
      if (read.size() < literal.size() && literal.substr(0, read.size()) == read)
        return "in literal " + std::string(literal) + " (expecting '" + literal[read.size()] + "')";
  }
  if (nlohmann_message.find("invalid string: control character") != std::string_view::npos)
    return "in string literal";
  if (nlohmann_message.find("invalid string: forbidden character after backslash") !=
      std::string_view::npos)
    return "in string escape code";
  if (nlohmann_message.find("invalid number") != std::string_view::npos)
    return "in numeric literal";
  if (nlohmann_message.find("while parsing object key") != std::string_view::npos)
    return "looking for beginning of object key string";
  if (nlohmann_message.find("while parsing object separator") != std::string_view::npos)
    return "after object key";
  if (nlohmann_message.find("while parsing object") != std::string_view::npos)
    return c == '"' || std::isalnum(static_cast<unsigned char>(c))
               ? "after object key:value pair"
               : "looking for beginning of value";
  if (nlohmann_message.find("while parsing array") != std::string_view::npos)
    return "after array element";
  return "looking for beginning of value";
}

std::string character(char c) {
  if (c == '\'') return "'\\''";
  if (c == '"') return "'\"'";
  const auto u = static_cast<unsigned char>(c);
  if (u < 0x20 || u == 0x7f) {
    std::string out = "'\\x";
    out += kHex[u >> 4];
    out += kHex[u & 0xf];
    return out + "'";
  }
  return std::string("'") + c + "'";
}

}  // namespace

std::string quote(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  out += '"';
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      switch (c) {
        case '"':
          out += "\\\"";
          break;
        case '\\':
          out += "\\\\";
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
        case '<':
        case '>':
        case '&':
          append_escaped(out, c);
          break;
        default:
          if (c < 0x20)
            append_escaped(out, c);
          else
            out += static_cast<char>(c);
      }
      ++i;
      continue;
    }
    const std::size_t length = utf8::sequence_length(text, i);
    if (length == 0) {
      out += "\\ufffd";
      ++i;
      continue;
    }
    // U+2028 and U+2029 (E2 80 A8/A9): valid JSON, but line ends to JavaScript.
    if (length == 3 && c == 0xe2 && static_cast<unsigned char>(text[i + 1]) == 0x80 &&
        (static_cast<unsigned char>(text[i + 2]) & 0xfe) == 0xa8) {
      out += static_cast<unsigned char>(text[i + 2]) == 0xa8 ? "\\u2028" : "\\u2029";
    } else {
      out.append(text.substr(i, length));
    }
    i += length;
  }
  out += '"';
  return out;
}

std::string dump(const Json& value) {
  std::string out;
  write(out, value);
  return out;
}

std::string base64(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const uint32_t v = (uint32_t(uint8_t(bytes[i])) << 16) |
                       (uint32_t(uint8_t(bytes[i + 1])) << 8) | uint8_t(bytes[i + 2]);
    for (int shift : {18, 12, 6, 0})
      out += kAlphabet[(v >> shift) & 63];
  }
  const std::size_t left = bytes.size() - i;
  if (left > 0) {
    uint32_t v = uint32_t(uint8_t(bytes[i])) << 16;
    if (left == 2) v |= uint32_t(uint8_t(bytes[i + 1])) << 8;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += left == 2 ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::optional<Json> parse(std::string_view text, SyntaxError* error) {
  try {
    return Json::parse(text.begin(), text.end());
  } catch (const Json::parse_error& e) {
    if (error) {
      // e.byte is 1-based: the character that could not be taken.
      const std::size_t at = e.byte == 0 ? 0 : e.byte - 1;
      if (at >= text.size())
        error->message = "unexpected EOF";
      else
        error->message =
            "invalid character " + character(text[at]) + " " + go_context(e.what(), text, at);
    }
    return std::nullopt;
  } catch (const Json::out_of_range& e) {
    // 406: a number nlohmann cannot hold (1e999). Uncaught, it would end the process.
    if (error) {
      error->message = std::string("number out of range: ") + e.what();
      error->number_out_of_range = true;
    }
    return std::nullopt;
  } catch (const Json::exception& e) {
    if (error) error->message = e.what();
    return std::nullopt;
  }
}

std::optional<std::size_t> first_value_length(std::string_view text) {
  int depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      ++depth;
    } else if (c == '}' || c == ']') {
      if (--depth <= 0) return i + 1;
    } else if (depth == 0 && !std::isspace(static_cast<unsigned char>(c))) {
      // Not an object or array: whatever it is, parse() names the error.
      return text.size();
    }
  }
  return std::nullopt;
}

}  // namespace revkv::util::json
