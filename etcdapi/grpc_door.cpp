#include "etcdapi/grpc_door.hpp"

#include "actors/leadership_drain.hpp"
#include "actors/messages.hpp"

#include <caf/all.hpp>

#include <algorithm>
#include <chrono>
#include <unordered_map>

namespace revkv::etcdapi {
namespace {

class GrpcDoor : public caf::event_based_actor, public actors::DoorSink {
 public:
  GrpcDoor(caf::actor_config& cfg, actors::NodeContextPtr ctx, actors::Routes routes)
      : caf::event_based_actor(cfg),
        max_pending_(ctx->options.max_inflight_per_connection),
        path_(std::make_unique<actors::RequestPath>(this, std::move(ctx), std::move(routes),
                                                    *this)) {}

  const char* name() const override { return "grpc_door"; }

  caf::behavior make_behavior() override {
    caf::message_handler own{
        [this](grpc_call_atom, CallPtr& call) {
          // The in-flight limit (docs/NODE.md "The gRPC door"): the MessagePack door stops
          // reading its one connection there; this door serves every client and cannot
          // stop reading one of them, so it refuses the call with etcd's overload answer.
          if (path_->pending() >= max_pending_) return call->done(too_many_requests());
          uint64_t id = next_id_++;
          auto request = std::move(call->request);
          auto caller = std::move(call->caller);
          calls_.emplace(id, std::move(call));
          path_->submit(id, std::move(request), std::chrono::steady_clock::now(), caller);
        },
        [this](grpc_sent_atom, uint64_t bytes) {
          unsent_ -= std::min(bytes, unsent_);
          path_->output_drained();
        },
        [this](actors::node_failed_atom, const std::string& reason) {
          path_->fail(actors::unavailable(reason));
        },
        [this](actors::leader_lost_atom, const actors::DrainHoldPtr&) {
          // Every waiting call finishes now; the hold goes with this message, and the
          // server's drain waits for gRPC to be done with those calls (GrpcServer::drain).
          path_->fail(actors::leader_changed_error());
        },
    };
    return own.or_else(path_->handlers());
  }

  void on_exit() override {
    // Every gRPC call must be finished, or the server's shutdown would wait for it.
    auto calls = std::move(calls_);
    for (auto& [id, call] : calls)
      call->done(actors::unavailable("gRPC door stopped"));
    path_.reset();
  }

  void answer(uint64_t id, protocol::Method, actors::Answer answer) override {
    auto it = calls_.find(id);
    if (it == calls_.end()) return;
    auto call = std::move(it->second);
    calls_.erase(it);
    call->done(std::move(answer));
  }

  // No watch stream on this door yet (LeaseKeepAlive's stream submits ordinary
  // one-answer requests).
  void watch_response(protocol::WatchResponse) override {}

  void snapshot_chunk(uint64_t id, std::string_view blob, uint64_t remaining) override {
    auto it = calls_.find(id);
    if (it == calls_.end() || !it->second->chunk) return;
    unsent_ += blob.size();
    it->second->chunk(blob, remaining);
  }

  // Snapshot chunks handed to gRPC and not written yet: the path's pacing of snapshots.
  // Unary answers are not counted: gRPC copies a response when the call finishes and
  // applies HTTP/2 flow control itself.
  uint64_t unsent_bytes() const override { return unsent_; }

  bool snapshot_wanted(uint64_t id) const override {
    auto it = calls_.find(id);
    return it != calls_.end() && !it->second->abandoned.load();
  }

 private:
  const size_t max_pending_;
  std::unique_ptr<actors::RequestPath> path_;
  std::unordered_map<uint64_t, CallPtr> calls_;
  uint64_t next_id_ = 1;
  uint64_t unsent_ = 0;
};

}  // namespace

caf::actor spawn_grpc_door(caf::actor_system& sys, actors::NodeContextPtr ctx,
                           actors::Routes routes) {
  return sys.spawn<GrpcDoor>(std::move(ctx), std::move(routes));
}

}  // namespace revkv::etcdapi
