#pragma once

// The listeners revkvd opens, checked before it opens anything: two flags naming the same
// address, or a port another process holds, is one clear line (with the system's reason,
// "address already in use") and exit 1, with nothing written to the data directory. The
// listeners themselves still report a failed bind (another process may take a port in
// between), with the same reason.

#include "apps/revkvd/options.hpp"

#include <string>
#include <vector>

namespace revkv::apps {

// Empty when every configured listener can bind; otherwise the first problem, naming the
// flag and the address.
std::string unavailable_listener(const DaemonOptions& options);

// True for an address only this machine reaches: 127.0.0.0/8, ::1, "localhost".
bool is_loopback(const std::string& host);

// One warning for each client door that listens beyond loopback in plaintext: anyone who
// can reach it reads and writes everything, in clear (docs/SECURITY.md); and in cluster
// mode one for a peer address beyond loopback without peer TLS.
std::vector<std::string> plaintext_beyond_loopback(const DaemonOptions& options);

}  // namespace revkv::apps
