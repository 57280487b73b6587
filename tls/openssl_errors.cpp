#include "tls/openssl_errors.hpp"

#include <cstring>
#include <openssl/err.h>

namespace revkv::tls {

std::string openssl_errors(std::string_view when_none) {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    // "error:0A000086:SSL routines::certificate verify failed": the reason is the tail.
    const char* reason = std::strrchr(buf, ':');
    if (!out.empty()) out += "; ";
    out += reason && reason[1] ? reason + 1 : buf;
  }
  return out.empty() ? std::string(when_none) : out;
}

}  // namespace revkv::tls
