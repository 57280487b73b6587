#include "etcdapi/watch_service.hpp"

#include "actors/request_path.hpp"
#include "etcdapi/auth_token.hpp"
#include "etcdapi/convert.hpp"
#include "etcdapi/watch_door.hpp"
#include "etcdapi/watch_outbox.hpp"

#include <caf/all.hpp>

#include <vector>

namespace revkv::etcdapi {

namespace {

class WatchReactor final : public WatchCall {
 public:
  WatchReactor(WatchService& service, grpc::CallbackServerContext* context)
      : service_(service),
        ctx_(service.context()),
        context_(context),
        outbox_(std::make_shared<WatchOutbox>(this, kWatchRequestsOutstanding)) {
    door_ = service.spawn_door(outbox_);
    outbox_->set_door(door_);
    // A stream opened while the server stops is finished at once, and never read.
    if (service_.opened(outbox_)) read_next();
  }

  void read_next() override { StartRead(&request_); }

  void OnReadDone(bool ok) override {
    if (!ok) return outbox_->reads_ended();
    // etcd refuses a request over --max-request-bytes with its error on unary calls; on a
    // stream a create carries only a key range, which gRPC's own message limit bounds.
    auto request = from_proto(request_);
    if (!request) return read_next();  // no member of the oneof set: etcd skips it
    // The stream's token, resolved for each request as etcd does (it may have expired).
    caf::anon_send(door_, watch_submit_atom::value, actors::Request{std::move(*request)},
                   caller_of(*ctx_, *context_));
    if (outbox_->read_and_may_read_next()) read_next();
  }

  void OnWriteDone(bool ok) override { outbox_->write_done(ok); }

  void OnCancel() override { outbox_->finish(grpc::Status::CANCELLED); }

  void OnDone() override {
    service_.closed(outbox_);
    outbox_->done();
    delete this;
  }

 private:
  WatchService& service_;
  actors::NodeContextPtr ctx_;
  grpc::CallbackServerContext* context_;  // gRPC's, alive until OnDone
  std::shared_ptr<WatchOutbox> outbox_;
  caf::actor door_;
  etcdserverpb::WatchRequest request_;
};

}  // namespace

WatchService::WatchService(caf::actor_system& sys, actors::NodeContextPtr ctx,
                           actors::Routes routes)
    : sys_(sys), ctx_(std::move(ctx)), routes_(std::move(routes)) {}

WatchService::~WatchService() = default;

grpc::ServerBidiReactor<etcdserverpb::WatchRequest, etcdserverpb::WatchResponse>*
WatchService::Watch(grpc::CallbackServerContext* context) {
  // The callback API owns the reactor until OnDone, which deletes it.
  return new WatchReactor(*this, context);
}

caf::actor WatchService::spawn_door(std::shared_ptr<WatchSink> sink) {
  return spawn_watch_door(sys_, ctx_, routes_, std::move(sink));
}

bool WatchService::opened(const std::shared_ptr<WatchSink>& sink) {
  std::unique_ptr<grpc::Status> closing;
  {
    std::lock_guard lock(mu_);
    if (!closing_) {
      open_.insert(sink);
      return true;
    }
    closing = std::make_unique<grpc::Status>(*closing_);
  }
  sink->finish(*closing);
  return false;
}

void WatchService::closed(const std::shared_ptr<WatchSink>& sink) {
  std::lock_guard lock(mu_);
  open_.erase(sink);
}

void WatchService::close_all(const grpc::Status& status) {
  std::vector<std::shared_ptr<WatchSink>> open;
  {
    std::lock_guard lock(mu_);
    if (!closing_) closing_ = std::make_unique<grpc::Status>(status);
    open.assign(open_.begin(), open_.end());
  }
  // Outside the lock: a Finish may run OnDone, which takes it.
  for (const auto& sink : open)
    sink->finish(status);
}

size_t WatchService::open_streams() const {
  std::lock_guard lock(mu_);
  return open_.size();
}

}  // namespace revkv::etcdapi
