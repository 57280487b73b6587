#pragma once

// One unary gRPC call on the request path, for every service: the handler converts the
// protobuf request into an actors::Request, a door (etcdapi/doors.hpp) submits it to its
// RequestPath, and the answer becomes the protobuf response or an error status, on the
// door's thread (the callback API lets any thread finish a call).

#include "actors/node_context.hpp"
#include "actors/request_path.hpp"
#include "etcdapi/auth_token.hpp"
#include "etcdapi/convert.hpp"
#include "etcdapi/doors.hpp"

#include <grpcpp/grpcpp.h>
#include <memory>
#include <utility>
#include <variant>

namespace revkv::etcdapi {

// Fills `out` from a Response of the matching type. Engine responses (storage/types.hpp)
// keep only the revision, so they get the node's header for it; the protocol responses
// (Lease.*, Maintenance) carry their whole header already. The answer is consumed: a
// conversion with an rvalue overload (a range's keys and values) moves instead of copying.
template <class ProtoResponse>
grpc::Status fill_response(const actors::NodeContext& ctx, actors::Answer&& answer,
                           ProtoResponse& out) {
  auto* r = std::get_if<actors::Response>(&answer);
  if (!r) return to_status(actors::wire_error(answer));
  bool converted = std::visit(
      [&](auto& x) {
        if constexpr (requires { to_proto(x, ctx.header(x.revision), out); }) {
          const auto header = ctx.header(x.revision);
          to_proto(std::move(x), header, out);
          return true;
        } else if constexpr (requires { to_proto(x, out); }) {
          to_proto(x, out);
          return true;
        } else {
          return false;
        }
      },
      *r);
  return converted ? grpc::Status::OK : wrong_answer_type();
}

// `fill(answer)` turns the path's answer into the call's status and the response's size
// in bytes (the response itself lives with the call until the reactor finishes); the node
// context outlives the server.
// The answer's bytes stay on the doors' ledger until gRPC has sent them. A connection with
// more unsent than the ledger's limit gets etcd's overload answer for its next call, and
// for a read already taken whose answer comes while it is over the limit: the calls of a
// connection all arrive before any answer is held, so checking them only on arrival
// would bound nothing. A write's answer is always given: the write was applied.
// (docs/NODE.md "What a slow connection costs")
template <class Fill>
grpc::ServerUnaryReactor* serve_unary_with(const actors::NodeContextPtr& ctx, Doors& doors,
                                           grpc::CallbackServerContext* context,
                                           size_t request_bytes, actors::Request request,
                                           Fill fill) {
  // Owned by gRPC until its OnDone, where it deletes itself.
  auto* reactor = new LedgerReactor(doors.answers(), context->peer());
  // etcd takes messages up to --max-request-bytes + 512 KiB off the wire (gRPC refuses
  // bigger ones itself) and refuses a request over --max-request-bytes with its own error;
  // the MessagePack door does the same in its frame decoder.
  if (request_bytes > ctx->options.max_request_bytes) {
    reactor->finish(to_status(protocol::to_wire_error(storage::Errc::request_too_large)), 0);
    return reactor;
  }
  if (!reactor->admitted()) {
    reactor->finish(to_status(too_many_requests()), 0);
    return reactor;
  }
  const bool write = actors::is_write(actors::method_of(request));
  auto call = std::make_shared<Call>();
  call->request = std::move(request);
  call->caller = caller_of(*ctx, *context);
  call->done = [reactor, write, fill = std::move(fill)](actors::Answer answer) {
    if (!write && !reactor->admitted()) return reactor->finish(to_status(too_many_requests()), 0);
    auto [status, bytes] = fill(std::move(answer));
    reactor->finish(status, status.ok() ? bytes : 0);
  };
  doors.submit(std::move(call));
  return reactor;
}

// A call whose response is a protobuf message, filled from the answer by fill_response.
template <class ProtoResponse>
grpc::ServerUnaryReactor* serve_unary(const actors::NodeContextPtr& ctx, Doors& doors,
                                      grpc::CallbackServerContext* context, size_t request_bytes,
                                      actors::Request request, ProtoResponse* response) {
  return serve_unary_with(ctx, doors, context, request_bytes, std::move(request),
                          [response, ctx = ctx.get()](actors::Answer answer) {
                            auto status = fill_response(*ctx, std::move(answer), *response);
                            return std::pair<grpc::Status, uint64_t>(
                                status, status.ok() ? response->ByteSizeLong() : 0);
                          });
}

// A call answered by the handler itself (nothing for the request path to do).
inline grpc::ServerUnaryReactor* finish_now(grpc::CallbackServerContext* context,
                                            const grpc::Status& status) {
  auto* reactor = context->DefaultReactor();
  reactor->Finish(status);
  return reactor;
}

}  // namespace revkv::etcdapi
