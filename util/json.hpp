#pragma once

// The project's one JSON layer, on nlohmann::json: documents are built and parsed with
// nlohmann's ordered_json (members keep the order they were added in, as Go writes a
// struct's fields), and written as Go's encoding/json writes them — the encoder behind
// etcdctl's `-w json` and etcd's grpc-gateway. nlohmann's own dump() differs from Go's in
// its string escapes, so the text is written here:
//   - `<`, `>`, `&` as \u003c, \u003e, \u0026 (Go's HTML-safe default);
//   - U+2028 and U+2029 as \u2028, \u2029;
//   - `"`, `\`, \n, \r, \t with a backslash, every other byte below 0x20 as \u00XX
//     (lowercase hex; \b and \f too, as Go before 1.22 writes them — etcd 3.4's encoder);
//   - each byte that does not start a valid UTF-8 sequence as \ufffd (Go decodes rune by
//     rune and replaces one byte at a time; nlohmann would replace a whole broken sequence
//     with one U+FFFD).

#include <cstddef>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace revkv::util::json {

using Json = nlohmann::ordered_json;

// `value` as Go's json.Marshal writes it: compact, members in insertion order.
std::string dump(const Json& value);
// `text` as one JSON string (quotes included), escaped as Go escapes it.
std::string quote(std::string_view text);
// Standard base64 with padding: how Go's encoding/json writes a []byte.
std::string base64(std::string_view bytes);

// Why a text is not one JSON value, in the words of Go's encoding/json decoder
// ("unexpected EOF", "invalid character 'x' looking for beginning of value").
struct SyntaxError {
  std::string message;
  // The text is valid JSON, but holds a number beyond a double's range (1e999), which
  // nlohmann cannot represent; Go's decoder keeps such a number as text until a field's type
  // asks for it.
  bool number_out_of_range = false;
};

// `text` parsed as exactly one JSON value (blank around it is allowed).
std::optional<Json> parse(std::string_view text, SyntaxError* error = nullptr);

// What Go's json.Decoder answers for the first value of `text`, in its words: nullopt when
// that value is whole and well-formed (whatever follows it), "unexpected EOF" when `text`
// ends inside it. It scans bytes as Go does: bytes that are not UTF-8 inside a string are
// no error, and at most 10,000 objects and arrays may be open at once.
std::optional<std::string> decode_error(std::string_view text);

// What Go's json.Unmarshal answers for `text` as JSON syntax: as decode_error, but
// "unexpected end of JSON input" where the text ends too soon, and anything but blanks
// after the value is an error too.
std::optional<std::string> unmarshal_syntax_error(std::string_view text);

// Reading well-formed JSON as text, as Go's json.RawMessage keeps it (for decoders that
// must see a value's exact text, as golang/protobuf's jsonpb does).
// The kind of the value at the start of `raw` (after blanks): '{', '[', '"', 't' or 'f'
// (a boolean), 'n' (null) or '0' (a number); 0 for blank text.
char kind(std::string_view raw);

// One JSON text that decode_error found whole, with where each object and array ends
// found in one pass: reading nested values member by member stays linear in the text,
// however deep they nest. The views it takes and gives are parts of that text.
class RawText {
 public:
  explicit RawText(std::string_view text);

  // Calls visit(name, value) for each member of an object, in order: the name as its raw
  // string (quotes included; unquote() it), the value's text without blanks.
  template <class Visit>
  void for_each_member(std::string_view raw_object, Visit visit) const {
    for_each_item(raw_object, [&, name = std::string_view()](std::string_view item) mutable {
      if (name.empty()) {
        name = item;
        return;
      }
      visit(name, item);
      name = {};
    });
  }
  // Calls visit(element) for each element of an array, in order, without blanks.
  template <class Visit>
  void for_each_element(std::string_view raw_array, Visit visit) const {
    for_each_item(raw_array, visit);
  }

 private:
  template <class Visit>
  void for_each_item(std::string_view raw, Visit&& visit) const {
    std::size_t at = skip(offset_of(raw)) + 1;
    for (;;) {
      at = skip(at);
      if (at >= text_.size() || text_[at] == '}' || text_[at] == ']') return;
      const std::size_t end = value_end(at);
      visit(text_.substr(at, end - at));
      at = skip(end);
      if (at < text_.size() && (text_[at] == ',' || text_[at] == ':')) ++at;
    }
  }
  std::size_t offset_of(std::string_view part) const;
  std::size_t skip(std::size_t at) const;
  std::size_t value_end(std::size_t at) const;

  std::string_view text_;
  // Each container's (opening offset, offset past its closing), by opening offset.
  std::vector<std::pair<std::size_t, std::size_t>> containers_;
};

// A string value's text unquoted as Go's decoder does: escapes resolved, a \u escape of a
// lone UTF-16 surrogate and each byte that is not UTF-8 as U+FFFD.
std::string unquote(std::string_view raw_string);

// Go's base64.StdEncoding.Decode: padding required, \r and \n skipped; on failure the
// offset its CorruptInputError names ("illegal base64 data at input byte N").
struct Base64Result {
  std::string bytes;
  std::optional<std::size_t> corrupt_at;
};
Base64Result decode_base64(std::string_view text);

// The length of the first JSON value at the start of `text` (after leading blanks, which
// it includes), or nullopt when `text` ends inside it — for a body that carries several
// values one after another, read as it arrives. A syntax error is reported as a length
// too: the value is then complete enough for parse() to name its error.
std::optional<std::size_t> first_value_length(std::string_view text);

}  // namespace revkv::util::json
