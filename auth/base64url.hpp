#pragma once

// JWT's base64url (RFC 7515 §2): the URL-safe alphabet, no padding.

#include <optional>
#include <string>
#include <string_view>

namespace revkv::auth {

std::string base64url_encode(std::string_view bytes);
// nullopt for a character outside the alphabet, padding, or an impossible length (a
// remainder of one character). Bits left over in the last character are ignored, as Go's
// decoder ignores them.
std::optional<std::string> base64url_decode(std::string_view text);

}  // namespace revkv::auth
