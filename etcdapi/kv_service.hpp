#pragma once

// etcd's KV service (Range, Put, DeleteRange, Txn, Compact) on gRPC's callback API. A
// handler runs on one of gRPC's threads and only converts: the request becomes an
// actors::Request handed to a door actor (etcdapi/grpc_door.hpp), and the door's answer
// becomes the protobuf response or an error status, on the door's thread.

#include "actors/node_context.hpp"
#include "actors/request_path.hpp"

#include <caf/actor.hpp>

#include <atomic>
#include <etcdserverpb/rpc.grpc.pb.h>
#include <vector>

namespace revkv::etcdapi {

class KvService final : public etcdserverpb::KV::CallbackService {
 public:
  // `doors` take the calls in turn; not empty.
  KvService(actors::NodeContextPtr ctx, std::vector<caf::actor> doors);

  grpc::ServerUnaryReactor* Range(grpc::CallbackServerContext* context,
                                  const etcdserverpb::RangeRequest* request,
                                  etcdserverpb::RangeResponse* response) override;
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
  template <class ProtoResponse>
  grpc::ServerUnaryReactor* serve(grpc::CallbackServerContext* context, size_t request_bytes,
                                  actors::Request request, ProtoResponse* response);

  actors::NodeContextPtr ctx_;
  std::vector<caf::actor> doors_;
  std::atomic<size_t> next_door_{0};
};

}  // namespace revkv::etcdapi
