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

// The metadata under which revkv's HTTP/2 door tells the gRPC server, in-process, the CN
// of the verified client certificate of the connection a relayed call came on
// (etcdapi/h2_proxy_call.hpp), looked up while that connection was open. Trusted only on
// in-process calls: the door never relays a client's own revkv- headers.
inline constexpr const char* kRelayedCnKey = "revkv-relayed-cn";

// `token`: the call's token, if it has one; `certificate_cn`: the CN of its connection's
// verified certificate, if one was recorded (--client-cert-auth).
auth::Caller caller_for(const actors::NodeContext& ctx, std::optional<std::string_view> token,
                        std::optional<std::string> certificate_cn);

auth::Caller caller_of(const actors::NodeContext& ctx, const grpc::ServerContextBase& context);

}  // namespace revkv::etcdapi
