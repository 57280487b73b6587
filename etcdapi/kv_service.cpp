#include "etcdapi/kv_service.hpp"

#include "etcdapi/convert.hpp"
#include "etcdapi/unary_call.hpp"

namespace revkv::etcdapi {

KvService::KvService(actors::NodeContextPtr ctx, Doors& doors)
    : ctx_(std::move(ctx)), doors_(doors) {}

grpc::ServerUnaryReactor* KvService::Range(grpc::CallbackServerContext* context,
                                           const etcdserverpb::RangeRequest* request,
                                           etcdserverpb::RangeResponse* response) {
  return serve_unary(ctx_, doors_, context, request->ByteSizeLong(), from_proto(*request),
                     response);
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
