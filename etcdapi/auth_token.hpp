#pragma once

// Who a gRPC call comes from: the simple token in the call's metadata, under `token` (what
// etcd's clients send) or else `authorization` (what etcd's JSON gateway forwards from the
// HTTP Authorization header), resolved by the node's auth store. No token: with
// --client-cert-auth, the user named by the CN of the certificate the connection was
// verified with (etcd's AuthInfoFromTLS; the JSON gateway's calls are in-process and never
// get one, as etcd's gateway's); else anonymous.

#include "actors/node_context.hpp"
#include "auth/caller.hpp"

#include <grpcpp/grpcpp.h>
#include <optional>
#include <string_view>

namespace revkv::etcdapi {

// The metadata under which revkv's HTTP/2 door tells the gRPC server, in-process, the
// descriptor of the client connection a relayed call came on (etcdapi/h2_proxy_call.hpp).
// Trusted only on in-process calls: the door never relays a client's own revkv- headers.
inline constexpr const char* kRelayedFdKey = "revkv-relayed-fd";

// `token`: the call's token, if it has one; `connection_fd`: the descriptor its
// connection's certificate was recorded under, or -1.
auth::Caller caller_for(const actors::NodeContext& ctx, std::optional<std::string_view> token,
                        int connection_fd);

auth::Caller caller_of(const actors::NodeContext& ctx, const grpc::ServerContextBase& context);

}  // namespace revkv::etcdapi
