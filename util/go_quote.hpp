#pragma once

// Go's quoting, as etcd's tools and errors print text: strconv.Quote (fmt's %q) and
// encoding/json's quoteChar. One implementation for revkvctl's etcdctl-shaped output and
// the JSON gateway's errors.

#include <cstdint>
#include <string>
#include <string_view>

namespace revkv::util {

// strconv.Quote: printable runes as they are, the rest escaped (\n, \x01, \u00a0, \U000e0001,
// \xff for a byte that is not UTF-8). Printable is Unicode's graphic characters and the
// ASCII space; unassigned code points are taken as printable (no Unicode tables here).
std::string go_quote(std::string_view text);

// encoding/json's name of a byte in a syntax error: the byte taken as the code point
// U+00XX, quoted as strconv.Quote quotes it, between single quotes ('x', '\n', '\'', '"',
// '\u0085', 'é').
std::string go_quoted_char(unsigned char c);

// `code_point` appended in UTF-8.
void append_utf8(std::string& out, uint32_t code_point);

}  // namespace revkv::util
