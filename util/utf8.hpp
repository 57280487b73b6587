#pragma once

// UTF-8 validity by Go's rules (utf8.DecodeRuneInString): no overlong forms, no surrogates,
// nothing above U+10FFFF. Shared by the JSON layer (util/json.hpp), which writes Go's
// replacement of broken bytes, and the MessagePack codec, which must not write a msgpack
// str that is not UTF-8 (protocol/codec.cpp).

#include <cstddef>
#include <string>
#include <string_view>

namespace revkv::util::utf8 {

// The length of the valid UTF-8 sequence at text[i], or 0 when the byte there does not
// start one.
std::size_t sequence_length(std::string_view text, std::size_t i);
// Whether all of `text` is valid UTF-8.
bool valid(std::string_view text);
// `text` with each byte that does not start valid UTF-8 replaced by U+FFFD, one per byte,
// as Go decodes rune by rune (its JSON decoder does so inside strings).
std::string with_replacements(std::string_view text);

}  // namespace revkv::util::utf8
