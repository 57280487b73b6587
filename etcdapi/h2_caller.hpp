#pragma once

// Who a call on revkv's HTTP/2 door comes from, read from its request's head: what every
// stream the door serves or relays needs for etcd's auth (etcdapi/auth_token.hpp).

#include "actors/node_context.hpp"
#include "etcdapi/h2_loop.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace revkv::etcdapi::h2 {

// The call's token: its `token` metadata (etcd's clients), else `authorization` (what etcd's
// JSON gateway forwards). Valid while `head` is.
inline std::optional<std::string_view> token_of(const RequestHead& head) {
  for (const auto& [name, value] : head.metadata)
    if (name == "token") return value;
  for (const auto& [name, value] : head.metadata)
    if (name == "authorization") return value;
  return std::nullopt;
}

// The CN of the connection's verified client certificate, if one was recorded. Looked up
// while the stream's connection is open: its descriptor still names that certificate.
inline std::optional<std::string> certificate_cn_of(const actors::NodeContext& ctx,
                                                    const RequestHead& head) {
  if (head.fd < 0 || !ctx.certificate_names.recording()) return std::nullopt;
  return ctx.certificate_names.of_fd(head.fd);
}

}  // namespace revkv::etcdapi::h2
