#pragma once

// etcd's Auth service on the MessagePack door ("Auth.*" methods, docs/PROTOCOL.md) and who
// a request comes from. The calls run on the shared Auth API (auth/api.hpp), the rules the
// gRPC door uses, run on the node's auth runner (actors/auth_runner.hpp; by the door itself
// in tests without a node), and answered as they finish: like the gRPC door's they
// read or change the auth store directly and never enter the KV request path.

#include "actors/node_context.hpp"
#include "auth/caller.hpp"
#include "protocol/frame.hpp"

#include <msgpack.hpp>
#include <optional>
#include <string_view>

namespace revkv::actors {

// The caller a request's token names: given → the auth store's answer (a node without an
// auth store knows no token), even a bad one; none → the user the connection's verified
// client certificate names (`certificate_cn`, as etcd and the gRPC door), else anonymous.
// Marked `forwarded` when the frame is (another member's forwarder sent it).
auth::Caller caller_of(const NodeContext& ctx, const protocol::RequestFrame& frame,
                       const std::optional<std::string>& certificate_cn = std::nullopt);

// When `frame` calls an Auth.* method: answers it into `out` and returns true. Otherwise
// false (not an Auth method; nothing written). `certificate_cn` as for caller_of.
bool serve_auth_call(msgpack::sbuffer& out, const NodeContext& ctx,
                     const protocol::RequestFrame& frame,
                     const std::optional<std::string>& certificate_cn = std::nullopt);

}  // namespace revkv::actors
