#include "etcdapi/watch_door.hpp"

#include "actors/messages.hpp"
#include "actors/request_path.hpp"
#include "etcdapi/convert.hpp"
#include "etcdapi/grpc_door.hpp"
#include "etcdapi/watch_sink.hpp"

#include <caf/all.hpp>

#include <chrono>

namespace revkv::etcdapi {
namespace {

class WatchDoor : public caf::event_based_actor, public actors::DoorSink {
 public:
  WatchDoor(caf::actor_config& cfg, actors::NodeContextPtr ctx, actors::Routes routes,
            std::shared_ptr<WatchSink> sink)
      : caf::event_based_actor(cfg),
        sink_(std::move(sink)),
        path_(std::make_unique<actors::RequestPath>(this, std::move(ctx), std::move(routes),
                                                    *this)) {}

  const char* name() const override { return "grpc_watch_door"; }

  caf::behavior make_behavior() override {
    caf::message_handler own{
        [this](watch_submit_atom, actors::Request& request, const auth::Caller& caller) {
          path_->submit(next_id_++, std::move(request), std::chrono::steady_clock::now(), caller);
        },
        [this](grpc_sent_atom, uint64_t) { path_->output_drained(); },
        [this](actors::node_failed_atom, const std::string& reason) {
          path_->fail(actors::unavailable(reason));
        },
    };
    return own.or_else(path_->handlers());
  }

  void on_exit() override {
    sink_->finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "revkv: watch stream stopped"));
    path_.reset();
  }

  void answer(uint64_t, protocol::Method, actors::Answer answer) override {
    sink_->answered();
    if (auto* r = std::get_if<actors::Response>(&answer)) {
      if (auto* w = std::get_if<protocol::WatchResponse>(r)) write(*w);
      return;  // NoAnswer: etcd writes nothing (a cancel of an unknown id, say)
    }
    // The node cannot serve (Unavailable) or an internal error: etcd ends the stream with
    // the error's status.
    sink_->finish(to_status(actors::wire_error(answer)));
  }

  void watch_response(protocol::WatchResponse response) override { write(response); }

  void snapshot_chunk(uint64_t, std::string_view, uint64_t) override {}

  uint64_t unsent_bytes() const override { return sink_->unsent_bytes(); }

 private:
  void write(const protocol::WatchResponse& response) {
    etcdserverpb::WatchResponse out;
    to_proto(response, out);
    sink_->push(std::move(out));
  }

  std::shared_ptr<WatchSink> sink_;
  std::unique_ptr<actors::RequestPath> path_;
  uint64_t next_id_ = 1;
};

}  // namespace

caf::actor spawn_watch_door(caf::actor_system& sys, actors::NodeContextPtr ctx,
                            actors::Routes routes, std::shared_ptr<WatchSink> sink) {
  return sys.spawn<WatchDoor>(std::move(ctx), std::move(routes), std::move(sink));
}

}  // namespace revkv::etcdapi
