#include "etcdapi/lease_service.hpp"

#include "etcdapi/convert.hpp"
#include "etcdapi/unary_call.hpp"

namespace revkv::etcdapi {

namespace {

// One LeaseKeepAlive stream: read → submit → answer → write → read ... Exactly one of
// these steps is pending at any time, so the reactor needs no lock, and Finish is called
// once: when the client closes its side (or the call is cancelled: the pending read or
// write then completes with ok = false), or on an error answer, as etcd ends the stream
// with the error's status.
class KeepAliveStream final : public grpc::ServerBidiReactor<etcdserverpb::LeaseKeepAliveRequest,
                                                             etcdserverpb::LeaseKeepAliveResponse> {
 public:
  KeepAliveStream(actors::NodeContextPtr ctx, Doors& doors, CancellableStreams& streams,
                  grpc::CallbackServerContext* context)
      : ctx_(std::move(ctx)),
        door_(doors.next()),
        streams_(streams),
        ticket_(streams.open(context)) {
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) return Finish(grpc::Status::OK);
    auto call = std::make_shared<Call>();
    call->request = from_proto(request_);
    // Runs on the door's thread; `this` lives until OnDone, which cannot come before
    // Finish, which only this callback or a later step calls.
    call->done = [this](actors::Answer answer) {
      response_.Clear();
      auto status = fill_response(*ctx_, std::move(answer), response_);
      if (!status.ok()) return Finish(status);
      StartWrite(&response_);
    };
    // One door per stream: its requests meet the same path, as on a MessagePack connection.
    Doors::submit_to(door_, std::move(call));
  }

  void OnWriteDone(bool ok) override {
    if (!ok) return Finish(grpc::Status::OK);
    StartRead(&request_);
  }

  void OnDone() override {
    streams_.close(ticket_);
    delete this;
  }

 private:
  actors::NodeContextPtr ctx_;
  caf::actor door_;
  CancellableStreams& streams_;
  CancellableStreams::TicketPtr ticket_;
  etcdserverpb::LeaseKeepAliveRequest request_;
  etcdserverpb::LeaseKeepAliveResponse response_;
};

}  // namespace

LeaseService::LeaseService(actors::NodeContextPtr ctx, Doors& doors)
    : ctx_(std::move(ctx)), doors_(doors) {}

grpc::ServerUnaryReactor* LeaseService::LeaseGrant(grpc::CallbackServerContext* context,
                                                   const etcdserverpb::LeaseGrantRequest* request,
                                                   etcdserverpb::LeaseGrantResponse* response) {
  return serve_unary(ctx_, doors_, context, request->ByteSizeLong(), from_proto(*request),
                     response);
}

grpc::ServerUnaryReactor* LeaseService::LeaseRevoke(grpc::CallbackServerContext* context,
                                                    const etcdserverpb::LeaseRevokeRequest* request,
                                                    etcdserverpb::LeaseRevokeResponse* response) {
  return serve_unary(ctx_, doors_, context, request->ByteSizeLong(), from_proto(*request),
                     response);
}

grpc::ServerUnaryReactor* LeaseService::LeaseTimeToLive(
    grpc::CallbackServerContext* context, const etcdserverpb::LeaseTimeToLiveRequest* request,
    etcdserverpb::LeaseTimeToLiveResponse* response) {
  return serve_unary(ctx_, doors_, context, request->ByteSizeLong(), from_proto(*request),
                     response);
}

grpc::ServerUnaryReactor* LeaseService::LeaseLeases(grpc::CallbackServerContext* context,
                                                    const etcdserverpb::LeaseLeasesRequest* request,
                                                    etcdserverpb::LeaseLeasesResponse* response) {
  return serve_unary(ctx_, doors_, context, request->ByteSizeLong(), from_proto(*request),
                     response);
}

grpc::ServerBidiReactor<etcdserverpb::LeaseKeepAliveRequest, etcdserverpb::LeaseKeepAliveResponse>*
LeaseService::LeaseKeepAlive(grpc::CallbackServerContext* context) {
  return new KeepAliveStream(ctx_, doors_, streams_, context);
}

}  // namespace revkv::etcdapi
