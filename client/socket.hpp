#pragma once

// The client's TCP plumbing: an owned file descriptor, endpoint parsing and a connect
// with a deadline. Errors are protocol::WireError values with gRPC codes (14 UNAVAILABLE,
// 4 DEADLINE_EXCEEDED) so that a caller prints one kind of error whatever failed.

#include "protocol/error.hpp"
#include "util/unique_fd.hpp"

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace revkv::client {

template <class T>
using Result = protocol::Decoded<T>;

inline constexpr int64_t kCodeDeadlineExceeded = 4;
inline constexpr int64_t kCodeInternal = 13;
inline constexpr int64_t kCodeUnavailable = 14;

using UniqueFd = util::UniqueFd;

struct Endpoint {
  std::string host;
  uint16_t port = 0;
  // Written with https://: the client then speaks TLS (ClientOptions::tls).
  bool https = false;
  std::string to_string() const;
};

// "HOST:PORT", "[v6]:PORT"; an http:// prefix (etcdctl habit) is ignored, https:// asks
// for TLS.
Result<Endpoint> parse_endpoint(std::string_view text);

// Connects with TCP_NODELAY set; the socket is left in blocking mode.
Result<UniqueFd> connect_tcp(const Endpoint& endpoint, std::chrono::milliseconds timeout);

// Milliseconds left until `deadline` for poll(): -1 for no deadline, 0 when passed.
int poll_timeout(std::chrono::steady_clock::time_point deadline, bool has_deadline);

}  // namespace revkv::client
