#include "util/json.hpp"

#include "util/go_quote.hpp"
#include "util/utf8.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>
#include <vector>

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

bool go_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

bool digit(char c) {
  return c >= '0' && c <= '9';
}

// Go's encoding/json scanner, byte by byte, for the words of its errors: a state for each
// of its step functions, and the stack of what each open object or array expects next.
class GoScanner {
 public:
  // `ended`: the value ended before this byte (a string, number or literal is over only
  // at the byte after it); `closed`: this byte ends it (an object's or array's last).
  enum class Outcome : uint8_t { more, ended, closed, failed };

  // Takes the next byte of the first value, as Go's json.Decoder does; on `failed`,
  // error() says why in Go's words.
  Outcome step(char c) {
    for (;;) {
      switch (state_) {
        case State::begin_value_or_empty:
          if (go_space(c)) return Outcome::more;
          if (c == ']') {
            state_ = State::end_value;
            continue;
          }
          state_ = State::begin_value;
          continue;
        case State::begin_value:
          return begin_value(c);
        case State::begin_string_or_empty:
          if (go_space(c)) return Outcome::more;
          if (c == '}') {
            stack_.back() = Expect::object_value;
            state_ = State::end_value;
            continue;
          }
          state_ = State::begin_string;
          continue;
        case State::begin_string:
          if (go_space(c)) return Outcome::more;
          if (c == '"') return to(State::in_string);
          return fail(c, "looking for beginning of object key string");
        case State::end_value:
          return end_value(c);
        case State::in_string:
          if (c == '"') return to(State::end_value);
          if (c == '\\') return to(State::in_string_escape);
          if (static_cast<unsigned char>(c) < 0x20) return fail(c, "in string literal");
          return Outcome::more;
        case State::in_string_escape:
          if (c == 'u') {
            hex_left_ = 4;
            return to(State::in_string_escape_u);
          }
          if (std::string_view("bfnrt\\/\"").find(c) != std::string_view::npos)
            return to(State::in_string);
          return fail(c, "in string escape code");
        case State::in_string_escape_u:
          if (!std::isxdigit(static_cast<unsigned char>(c)))
            return fail(c, "in \\u hexadecimal character escape");
          if (--hex_left_ == 0) state_ = State::in_string;
          return Outcome::more;
        case State::negative:
          if (c == '0') return to(State::zero);
          if (c >= '1' && c <= '9') return to(State::integer);
          return fail(c, "in numeric literal");
        case State::integer:
          if (digit(c)) return Outcome::more;
          state_ = State::zero;
          continue;
        case State::zero:
          if (c == '.') return to(State::dot);
          if (c == 'e' || c == 'E') return to(State::exponent);
          state_ = State::end_value;
          continue;
        case State::dot:
          if (digit(c)) return to(State::fraction);
          return fail(c, "after decimal point in numeric literal");
        case State::fraction:
          if (digit(c)) return Outcome::more;
          if (c == 'e' || c == 'E') return to(State::exponent);
          state_ = State::end_value;
          continue;
        case State::exponent:
          if (c == '+' || c == '-') return to(State::exponent_sign);
          state_ = State::exponent_sign;
          continue;
        case State::exponent_sign:
          if (digit(c)) return to(State::exponent_digits);
          return fail(c, "in exponent of numeric literal");
        case State::exponent_digits:
          if (digit(c)) return Outcome::more;
          state_ = State::end_value;
          continue;
        case State::literal:
          if (c != literal_[literal_at_])
            return fail(c, "in literal " + std::string(literal_) + " (expecting '" +
                               literal_[literal_at_] + "')");
          if (++literal_at_ == literal_.size()) state_ = State::end_value;
          return Outcome::more;
      }
    }
  }

  // The text ended: whether the value was complete (Go's Decoder then steps one blank).
  Outcome at_end() { return step(' '); }

  const std::string& error() const { return error_; }

 private:
  enum class State : uint8_t {
    begin_value_or_empty,
    begin_value,
    begin_string_or_empty,
    begin_string,
    end_value,
    in_string,
    in_string_escape,
    in_string_escape_u,
    negative,
    integer,
    zero,
    dot,
    fraction,
    exponent,
    exponent_sign,
    exponent_digits,
    literal,
  };
  enum class Expect : uint8_t { object_key, object_value, array_value };
  // Go's maxNestingDepth.
  static constexpr std::size_t kMaxDepth = 10000;

  Outcome to(State next) {
    state_ = next;
    return Outcome::more;
  }

  Outcome fail(char c, const std::string& context) {
    error_ = "invalid character " + go_quoted_char(static_cast<unsigned char>(c)) + " " + context;
    return Outcome::failed;
  }

  Outcome push(char c, Expect expect, State next) {
    stack_.push_back(expect);
    if (stack_.size() > kMaxDepth) return fail(c, "exceeded max depth");
    return to(next);
  }

  Outcome begin_value(char c) {
    if (go_space(c)) return Outcome::more;
    switch (c) {
      case '{':
        return push(c, Expect::object_key, State::begin_string_or_empty);
      case '[':
        return push(c, Expect::array_value, State::begin_value_or_empty);
      case '"':
        return to(State::in_string);
      case '-':
        return to(State::negative);
      case '0':
        return to(State::zero);
      case 't':
      case 'f':
      case 'n':
        literal_ = c == 't' ? "true" : c == 'f' ? "false" : "null";
        literal_at_ = 1;
        return to(State::literal);
      default:
        if (c >= '1' && c <= '9') return to(State::integer);
        return fail(c, "looking for beginning of value");
    }
  }

  Outcome end_value(char c) {
    // The top-level value ended before this byte.
    if (stack_.empty()) return Outcome::ended;
    if (go_space(c)) return Outcome::more;
    switch (stack_.back()) {
      case Expect::object_key:
        if (c != ':') return fail(c, "after object key");
        stack_.back() = Expect::object_value;
        return to(State::begin_value);
      case Expect::object_value:
        if (c == ',') {
          stack_.back() = Expect::object_key;
          return to(State::begin_string);
        }
        if (c != '}') return fail(c, "after object key:value pair");
        return pop();
      case Expect::array_value:
        if (c == ',') return to(State::begin_value);
        if (c != ']') return fail(c, "after array element");
        return pop();
    }
    return Outcome::more;
  }

  // An object or array closed: the Decoder stops right after the top-level one.
  Outcome pop() {
    stack_.pop_back();
    state_ = State::end_value;
    return stack_.empty() ? Outcome::closed : Outcome::more;
  }

  State state_ = State::begin_value;
  std::vector<Expect> stack_;
  std::string_view literal_;
  std::size_t literal_at_ = 0;
  int hex_left_ = 0;
  std::string error_;
};

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

namespace {

// Where the first JSON value of `text` ends, or Go's json.Decoder's error for it.
struct FirstValue {
  std::optional<std::string> error;
  std::size_t end = 0;
};

// How the text ended inside the value: Go's json.Decoder says "unexpected EOF" whatever
// the blank it then steps finds; json.Unmarshal keeps that step's error ("invalid
// character ' ' in literal true (expecting 'e')") and says "unexpected end of JSON input"
// only when there is none.
enum class AtEnd : uint8_t { decoder, unmarshal };

FirstValue scan_first_value(std::string_view text, AtEnd at_end = AtEnd::decoder) {
  GoScanner scanner;
  for (std::size_t i = 0; i < text.size(); ++i) {
    switch (scanner.step(text[i])) {
      case GoScanner::Outcome::more:
        continue;
      case GoScanner::Outcome::failed:
        return {scanner.error(), i};
      case GoScanner::Outcome::ended:
        return {std::nullopt, i};
      case GoScanner::Outcome::closed:
        return {std::nullopt, i + 1};
    }
  }
  switch (scanner.at_end()) {
    case GoScanner::Outcome::ended:
      return {std::nullopt, text.size()};
    case GoScanner::Outcome::failed:
      if (at_end == AtEnd::unmarshal) return {scanner.error(), text.size()};
      [[fallthrough]];
    default:
      return {at_end == AtEnd::unmarshal ? "unexpected end of JSON input" : "unexpected EOF",
              text.size()};
  }
}

}  // namespace

std::optional<std::string> decode_error(std::string_view text) {
  return scan_first_value(text).error;
}

std::optional<Json> parse(std::string_view text, SyntaxError* error) {
  // Go's words for a syntax error (nlohmann's name its own parser's states), and for
  // anything but blanks after the value.
  auto first = scan_first_value(text);
  if (!first.error) {
    if (const auto rest = text.find_first_not_of(" \t\r\n", first.end); rest != text.npos)
      first.error = "invalid character " + go_quoted_char(static_cast<unsigned char>(text[rest])) +
                    " after top-level value";
  }
  if (first.error) {
    if (error) *error = SyntaxError{*first.error, false};
    return std::nullopt;
  }
  try {
    return Json::parse(text.begin(), text.end());
  } catch (const Json::out_of_range& e) {
    // 406: a number nlohmann cannot hold (1e999). Uncaught, it would end the process.
    if (error) {
      error->message = std::string("number out of range: ") + e.what();
      error->number_out_of_range = true;
    }
    return std::nullopt;
  } catch (const Json::exception& e) {
    // What Go's scanner takes and nlohmann does not (a lone UTF-16 surrogate's escape).
    if (error) error->message = e.what();
    return std::nullopt;
  }
}

std::optional<std::string> unmarshal_syntax_error(std::string_view text) {
  auto first = scan_first_value(text, AtEnd::unmarshal);
  if (first.error) return first.error;
  if (const auto rest = text.find_first_not_of(" \t\r\n", first.end); rest != text.npos)
    return "invalid character " + go_quoted_char(static_cast<unsigned char>(text[rest])) +
           " after top-level value";
  return std::nullopt;
}

namespace {

std::size_t skip_blanks(std::string_view text, std::size_t at) {
  while (at < text.size() && go_space(text[at]))
    ++at;
  return at;
}

uint32_t hex4(std::string_view text, std::size_t at) {
  uint32_t v = 0;
  for (std::size_t i = at; i < at + 4 && i < text.size(); ++i) {
    const char c = text[i];
    v = v * 16 + static_cast<uint32_t>(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
  }
  return v;
}

constexpr uint32_t kReplacement = 0xfffd;

}  // namespace

char kind(std::string_view raw) {
  const std::size_t at = skip_blanks(raw, 0);
  if (at >= raw.size()) return 0;
  const char c = raw[at];
  return c == '-' || digit(c) ? '0' : c;
}

RawText::RawText(std::string_view text) : text_(text) {
  std::vector<std::size_t> open;  // indexes into containers_
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '"') {
      for (++i; i < text.size() && text[i] != '"'; ++i)
        if (text[i] == '\\') ++i;
    } else if (c == '{' || c == '[') {
      open.push_back(containers_.size());
      containers_.emplace_back(i, text.size());
    } else if ((c == '}' || c == ']') && !open.empty()) {
      containers_[open.back()].second = i + 1;
      open.pop_back();
    }
  }
}

std::size_t RawText::offset_of(std::string_view part) const {
  return static_cast<std::size_t>(part.data() - text_.data());
}

std::size_t RawText::skip(std::size_t at) const {
  while (at < text_.size() && go_space(text_[at]))
    ++at;
  return at;
}

std::size_t RawText::value_end(std::size_t at) const {
  if (at >= text_.size()) return at;
  const char c = text_[at];
  if (c == '{' || c == '[') {
    const auto it = std::lower_bound(containers_.begin(), containers_.end(),
                                     std::pair<std::size_t, std::size_t>(at, 0));
    return it != containers_.end() && it->first == at ? it->second : text_.size();
  }
  if (c == '"') {
    for (std::size_t i = at + 1; i < text_.size(); ++i) {
      if (text_[i] == '\\')
        ++i;
      else if (text_[i] == '"')
        return i + 1;
    }
    return text_.size();
  }
  // A number or a literal: up to a delimiter.
  std::size_t i = at;
  while (i < text_.size() && !go_space(text_[i]) && text_[i] != ',' && text_[i] != '}' &&
         text_[i] != ']' && text_[i] != ':')
    ++i;
  return i;
}

std::string unquote(std::string_view raw_string) {
  const std::size_t start = skip_blanks(raw_string, 0);
  if (start >= raw_string.size()) return {};
  std::string_view s = raw_string.substr(start + 1);
  s = s.substr(0, s.empty() ? 0 : s.size() - (s.back() == '"' ? 1 : 0));
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    const char c = s[i];
    if (c == '\\' && i + 1 < s.size()) {
      const char e = s[i + 1];
      i += 2;
      switch (e) {
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u': {
          uint32_t cp = hex4(s, i);
          i += 4;
          if (cp >= 0xd800 && cp < 0xe000) {
            // A high surrogate followed by a low one's escape is one code point; anything
            // else is the replacement character, and what follows is read on its own.
            const bool pair = cp < 0xdc00 && i + 6 <= s.size() && s[i] == '\\' && s[i + 1] == 'u';
            const uint32_t low = pair ? hex4(s, i + 2) : 0;
            if (pair && low >= 0xdc00 && low < 0xe000) {
              cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
              i += 6;
            } else {
              cp = kReplacement;
            }
          }
          append_utf8(out, cp);
          break;
        }
        default:  // '"', '\\', '/'
          out += e;
      }
      continue;
    }
    if (static_cast<unsigned char>(c) < 0x80) {
      out += c;
      ++i;
      continue;
    }
    const std::size_t length = utf8::sequence_length(s, i);
    if (length == 0) {
      append_utf8(out, kReplacement);
      ++i;
    } else {
      out.append(s.substr(i, length));
      i += length;
    }
  }
  return out;
}

Base64Result decode_base64(std::string_view text) {
  static const auto decode_map = [] {
    std::array<int8_t, 256> map{};
    map.fill(-1);
    const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (int8_t i = 0; i < 64; ++i)
      map[static_cast<unsigned char>(alphabet[i])] = i;
    return map;
  }();
  const auto line_end = [&](std::size_t i) { return text[i] == '\n' || text[i] == '\r'; };
  Base64Result result;
  std::size_t si = 0;
  while (si < text.size()) {
    // One quantum of four characters, as Go's decodeQuantum reads it.
    uint32_t quantum[4] = {0, 0, 0, 0};
    std::size_t taken = 0;
    bool padded = false;
    while (taken < 4) {
      if (si == text.size()) {
        if (taken == 0) return result;
        // Go requires padding: a quantum cut short is corrupt where it began.
        result.corrupt_at = si - taken;
        return result;
      }
      const unsigned char in = static_cast<unsigned char>(text[si++]);
      if (decode_map[in] >= 0) {
        quantum[taken++] = static_cast<uint32_t>(decode_map[in]);
        continue;
      }
      if (in == '\n' || in == '\r') continue;
      if (in != '=' || taken < 2) {
        result.corrupt_at = si - 1;
        return result;
      }
      if (taken == 2) {
        // "==": the second '=' must follow (line ends between them skipped).
        while (si < text.size() && line_end(si))
          ++si;
        if (si == text.size()) {
          result.corrupt_at = text.size();
          return result;
        }
        if (text[si] != '=') {
          result.corrupt_at = si - 1;
          return result;
        }
        ++si;
      }
      while (si < text.size() && line_end(si))
        ++si;
      if (si < text.size()) result.corrupt_at = si;  // something after the padding
      padded = true;
      break;
    }
    const uint32_t v = (quantum[0] << 18) | (quantum[1] << 12) | (quantum[2] << 6) | quantum[3];
    const std::size_t bytes = padded ? taken - 1 : 3;
    for (std::size_t k = 0; k < bytes; ++k)
      result.bytes += static_cast<char>((v >> (16 - 8 * k)) & 0xff);
    if (padded || result.corrupt_at) return result;
  }
  return result;
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
    if (c == '"' && depth > 0) {
      in_string = true;
    } else if (c == '{' || c == '[') {
      ++depth;
    } else if (c == '}' || c == ']') {
      if (--depth <= 0) return i + 1;
    } else if (depth == 0 && !go_space(c)) {
      // A string, number or literal (or an error): where Go's decoder ends it, when the
      // text goes on past it ("null {...}" is two values); else the rest, for parse() or
      // decode_error() to name what is wrong.
      const auto first = scan_first_value(text.substr(i));
      if (!first.error && i + first.end < text.size()) return i + first.end;
      return text.size();
    }
  }
  return std::nullopt;
}

}  // namespace revkv::util::json
