#include "util/json.hpp"

#include "util/utf8.hpp"

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

// A byte as Go's encoding/json names it in an error (its quoteChar): the byte taken as the
// code point U+00XX and quoted as strconv.Quote quotes it, between single quotes.
std::string go_quoted_byte(unsigned char c) {
  if (c == '\'') return "'\\''";
  if (c == '"') return "'\"'";
  if (c == '\\') return "'\\\\'";
  std::string out = "'";
  switch (c) {
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
      if (c < 0x20 || c == 0x7f) {
        out += "\\x";
        out += kHex[c >> 4];
        out += kHex[c & 0xf];
      } else if (c < 0x80) {
        out += static_cast<char>(c);
      } else if (c <= 0xa0 || c == 0xad) {
        // C1 controls, the no-break space and the soft hyphen: not printable to Go.
        out += "\\u00";
        out += kHex[c >> 4];
        out += kHex[c & 0xf];
      } else {
        // Printable Latin-1: the code point in UTF-8.
        out += static_cast<char>(0xc0 | (c >> 6));
        out += static_cast<char>(0x80 | (c & 0x3f));
      }
  }
  return out + "'";
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
  bool complete_at_end() { return step(' ') == Outcome::ended; }

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
    error_ = "invalid character " + go_quoted_byte(static_cast<unsigned char>(c)) + " " + context;
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

FirstValue scan_first_value(std::string_view text) {
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
  if (scanner.complete_at_end()) return {std::nullopt, text.size()};
  return {"unexpected EOF", text.size()};
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
      first.error = "invalid character " + go_quoted_byte(static_cast<unsigned char>(text[rest])) +
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
