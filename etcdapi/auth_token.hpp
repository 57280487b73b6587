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

namespace revkv::etcdapi {

auth::Caller caller_of(const actors::NodeContext& ctx, const grpc::ServerContextBase& context);

}  // namespace revkv::etcdapi
