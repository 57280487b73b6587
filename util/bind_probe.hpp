#pragma once

// Why a listener could not bind, in the operating system's words ("Address already in
// use", "Cannot assign requested address", "Permission denied"). CAF's doorman and
// civetweb report only that the port could not be opened; revkvd tries the same bind on a
// socket of its own, closes it at once, and prints the errno's meaning.

#include <cstdint>
#include <string>

namespace revkv::util {

// Binds a TCP socket to host:port (an IPv4 or IPv6 literal, or a name that resolves to
// one) the way a listener would (SO_REUSEADDR) and closes it. Empty when the bind
// succeeds; otherwise the reason, e.g. "address already in use".
std::string bind_failure(const std::string& host, uint16_t port);

}  // namespace revkv::util
