#pragma once

// etcd's KV service (Range, Put, DeleteRange, Txn, Compact) on gRPC's callback API. A
// handler runs on one of gRPC's threads and only converts: the request becomes an
// actors::Request handed to a door actor (etcdapi/grpc_door.hpp), and the door's answer
// becomes the protobuf response or an error status, on the door's thread. Range is a raw
// method: its answer is written as RangeResponse bytes straight from the engine's
// key-values (etcdapi/range_response_bytes.hpp), without a protobuf message per key.

#include "actors/node_context.hpp"
#include "etcdapi/doors.hpp"

#include <etcdserverpb/rpc.grpc.pb.h>

namespace revkv::etcdapi {

using KvCallbackService =
    etcdserverpb::KV::WithRawCallbackMethod_Range<etcdserverpb::KV::WithCallbackMethod_Put<
        etcdserverpb::KV::WithCallbackMethod_DeleteRange<etcdserverpb::KV::WithCallbackMethod_Txn<
            etcdserverpb::KV::WithCallbackMethod_Compact<etcdserverpb::KV::Service>>>>>;

class KvService final : public KvCallbackService {
 public:
  // `doors` outlives the service.
  KvService(actors::NodeContextPtr ctx, Doors& doors);

  grpc::ServerUnaryReactor* Range(grpc::CallbackServerContext* context,
                                  const grpc::ByteBuffer* request,
                                  grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* Put(grpc::CallbackServerContext* context,
                                const etcdserverpb::PutRequest* request,
                                etcdserverpb::PutResponse* response) override;
  grpc::ServerUnaryReactor* DeleteRange(grpc::CallbackServerContext* context,
                                        const etcdserverpb::DeleteRangeRequest* request,
                                        etcdserverpb::DeleteRangeResponse* response) override;
  grpc::ServerUnaryReactor* Txn(grpc::CallbackServerContext* context,
                                const etcdserverpb::TxnRequest* request,
                                etcdserverpb::TxnResponse* response) override;
  grpc::ServerUnaryReactor* Compact(grpc::CallbackServerContext* context,
                                    const etcdserverpb::CompactionRequest* request,
                                    etcdserverpb::CompactionResponse* response) override;

 private:
  actors::NodeContextPtr ctx_;
  Doors& doors_;
};

}  // namespace revkv::etcdapi
