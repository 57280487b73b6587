#include "etcdapi/kv_service.hpp"

#include "etcdapi/convert.hpp"
#include "etcdapi/grpc_door.hpp"

#include <caf/all.hpp>

namespace revkv::etcdapi {

KvService::KvService(actors::NodeContextPtr ctx, std::vector<caf::actor> doors)
    : ctx_(std::move(ctx)), doors_(std::move(doors)) {}

template <class ProtoResponse>
grpc::ServerUnaryReactor* KvService::serve(grpc::CallbackServerContext* context,
                                           size_t request_bytes, actors::Request request,
                                           ProtoResponse* response) {
  auto* reactor = context->DefaultReactor();
  // etcd takes messages up to --max-request-bytes + 512 KiB off the wire (gRPC refuses
  // bigger ones itself) and refuses a request over --max-request-bytes with its own error;
  // the MessagePack door does the same in its frame decoder.
  if (request_bytes > ctx_->options.max_request_bytes) {
    reactor->Finish(to_status(protocol::to_wire_error(storage::Errc::request_too_large)));
    return reactor;
  }
  auto call = std::make_shared<Call>();
  call->request = std::move(request);
  // `reactor` and `response` live until Finish; the node context outlives the server.
  call->done = [reactor, response, ctx = ctx_.get()](actors::Answer answer) {
    const auto* r = std::get_if<actors::Response>(&answer);
    if (!r) return reactor->Finish(to_status(actors::wire_error(answer)));
    bool converted = std::visit(
        [&](const auto& x) {
          if constexpr (requires { to_proto(x, ctx->header(x.revision), *response); }) {
            to_proto(x, ctx->header(x.revision), *response);
            return true;
          } else {
            return false;
          }
        },
        *r);
    reactor->Finish(
        converted ? grpc::Status::OK
                  : grpc::Status(grpc::StatusCode::INTERNAL, "revkv: answer of the wrong type"));
  };
  auto& door = doors_[next_door_.fetch_add(1, std::memory_order_relaxed) % doors_.size()];
  caf::anon_send(door, grpc_call_atom::value, std::move(call));
  return reactor;
}

grpc::ServerUnaryReactor* KvService::Range(grpc::CallbackServerContext* context,
                                           const etcdserverpb::RangeRequest* request,
                                           etcdserverpb::RangeResponse* response) {
  return serve(context, request->ByteSizeLong(), from_proto(*request), response);
}

grpc::ServerUnaryReactor* KvService::Put(grpc::CallbackServerContext* context,
                                         const etcdserverpb::PutRequest* request,
                                         etcdserverpb::PutResponse* response) {
  return serve(context, request->ByteSizeLong(), from_proto(*request), response);
}

grpc::ServerUnaryReactor* KvService::DeleteRange(grpc::CallbackServerContext* context,
                                                 const etcdserverpb::DeleteRangeRequest* request,
                                                 etcdserverpb::DeleteRangeResponse* response) {
  return serve(context, request->ByteSizeLong(), from_proto(*request), response);
}

grpc::ServerUnaryReactor* KvService::Txn(grpc::CallbackServerContext* context,
                                         const etcdserverpb::TxnRequest* request,
                                         etcdserverpb::TxnResponse* response) {
  return serve(context, request->ByteSizeLong(), from_proto(*request), response);
}

grpc::ServerUnaryReactor* KvService::Compact(grpc::CallbackServerContext* context,
                                             const etcdserverpb::CompactionRequest* request,
                                             etcdserverpb::CompactionResponse* response) {
  return serve(context, request->ByteSizeLong(), from_proto(*request), response);
}

}  // namespace revkv::etcdapi
