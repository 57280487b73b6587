#pragma once

// OpenSSL's error queue as one line for a log or an error message: the reasons only
// ("certificate verify failed"), not OpenSSL's codes and library names.

#include <string>
#include <string_view>

namespace revkv::tls {

// The queued errors joined by "; ", the queue emptied; `when_none` when it was empty.
std::string openssl_errors(std::string_view when_none = "unknown error");

}  // namespace revkv::tls
