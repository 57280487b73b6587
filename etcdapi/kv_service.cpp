#include "etcdapi/kv_service.hpp"

#include "etcdapi/convert.hpp"
#include "etcdapi/range_response_bytes.hpp"
#include "etcdapi/status_interceptor.hpp"
#include "etcdapi/unary_call.hpp"

#include <grpcpp/support/proto_buffer_reader.h>

namespace revkv::etcdapi {

KvService::KvService(actors::NodeContextPtr ctx, Doors& doors)
    : ctx_(std::move(ctx)), doors_(doors) {}

grpc::ServerUnaryReactor* KvService::Range(grpc::CallbackServerContext* context,
                                           const grpc::ByteBuffer* request,
                                           grpc::ByteBuffer* response) {
  etcdserverpb::RangeRequest parsed;
  grpc::ByteBuffer taken = *request;  // shares the slices; deserializing consumes it
  if (!grpc::GenericDeserialize<grpc::ProtoBufferReader, etcdserverpb::RangeRequest>(&taken,
                                                                                     &parsed)
           .ok()) {
    // What gRPC answers for a typed method's request that does not parse.
    return finish_now(context, grpc::Status(grpc::StatusCode::INTERNAL, kUnparsableRequest));
  }
  return serve_unary_with(
      ctx_, doors_, context, request->Length(), from_proto(parsed),
      [response, ctx = ctx_.get()](actors::Answer answer) {
        auto* r = std::get_if<actors::Response>(&answer);
        if (!r) return std::pair(to_status(actors::wire_error(answer)), uint64_t{0});
        auto* range = std::get_if<storage::RangeResponse>(r);
        if (!range) return std::pair(wrong_answer_type(), uint64_t{0});
        *response = to_byte_buffer(range_response_bytes(*range, ctx->header(range->revision)));
        return std::pair(grpc::Status::OK, static_cast<uint64_t>(response->Length()));
      });
}

grpc::ServerUnaryReactor* KvService::Put(grpc::CallbackServerContext* context,
                                         const etcdserverpb::PutRequest* request,
                                         etcdserverpb::PutResponse* response) {
  return serve_unary(ctx_, doors_, context, request->ByteSizeLong(), from_proto(*request),
                     response);
}

grpc::ServerUnaryReactor* KvService::DeleteRange(grpc::CallbackServerContext* context,
                                                 const etcdserverpb::DeleteRangeRequest* request,
                                                 etcdserverpb::DeleteRangeResponse* response) {
  return serve_unary(ctx_, doors_, context, request->ByteSizeLong(), from_proto(*request),
                     response);
}

grpc::ServerUnaryReactor* KvService::Txn(grpc::CallbackServerContext* context,
                                         const etcdserverpb::TxnRequest* request,
                                         etcdserverpb::TxnResponse* response) {
  return serve_unary(ctx_, doors_, context, request->ByteSizeLong(), from_proto(*request),
                     response);
}

grpc::ServerUnaryReactor* KvService::Compact(grpc::CallbackServerContext* context,
                                             const etcdserverpb::CompactionRequest* request,
                                             etcdserverpb::CompactionResponse* response) {
  return serve_unary(ctx_, doors_, context, request->ByteSizeLong(), from_proto(*request),
                     response);
}

}  // namespace revkv::etcdapi
