#pragma once

// etcd's Lease service. The unary calls are served like KV's (etcdapi/unary_call.hpp);
// LeaseKeepAlive is a bidirectional stream whose every request becomes one
// LeaseKeepAliveRequest on the request path and one response, in order: the stream reads
// the next request only once the previous answer is written, so order needs no bookkeeping
// and a client that stops reading holds at most one answer (etcdctl sends one keep-alive
// every TTL/3, so one at a time is no limit in practice).

#include "actors/node_context.hpp"
#include "etcdapi/cancellable_streams.hpp"
#include "etcdapi/doors.hpp"

#include <etcdserverpb/rpc.grpc.pb.h>

namespace revkv::etcdapi {

class LeaseService final : public etcdserverpb::Lease::CallbackService {
 public:
  // `doors` outlives the service.
  LeaseService(actors::NodeContextPtr ctx, Doors& doors);

  grpc::ServerUnaryReactor* LeaseGrant(grpc::CallbackServerContext* context,
                                       const etcdserverpb::LeaseGrantRequest* request,
                                       etcdserverpb::LeaseGrantResponse* response) override;
  grpc::ServerUnaryReactor* LeaseRevoke(grpc::CallbackServerContext* context,
                                        const etcdserverpb::LeaseRevokeRequest* request,
                                        etcdserverpb::LeaseRevokeResponse* response) override;
  grpc::ServerUnaryReactor* LeaseTimeToLive(
      grpc::CallbackServerContext* context, const etcdserverpb::LeaseTimeToLiveRequest* request,
      etcdserverpb::LeaseTimeToLiveResponse* response) override;
  grpc::ServerUnaryReactor* LeaseLeases(grpc::CallbackServerContext* context,
                                        const etcdserverpb::LeaseLeasesRequest* request,
                                        etcdserverpb::LeaseLeasesResponse* response) override;
  grpc::ServerBidiReactor<etcdserverpb::LeaseKeepAliveRequest,
                          etcdserverpb::LeaseKeepAliveResponse>*
  LeaseKeepAlive(grpc::CallbackServerContext* context) override;

  // Cancels every keep-alive stream, and any opened from now on (the server stops).
  void cancel_streams() { streams_.cancel_all(); }

 private:
  actors::NodeContextPtr ctx_;
  Doors& doors_;
  CancellableStreams streams_;
};

}  // namespace revkv::etcdapi
