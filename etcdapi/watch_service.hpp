#pragma once

// etcd's Watch service: one bidirectional stream per call, many watchers per stream. Each
// stream gets its own door actor (etcdapi/watch_door.hpp) hosting a RequestPath, which
// runs the watch-stream protocol exactly as for a MessagePack connection; the reactor only
// converts requests and writes responses (etcdapi/watch_outbox.hpp). revkv's HTTP/2 door
// serves its Watch streams itself (etcdapi/h2_watch_call.hpp) on the same door actors,
// opened and ended here too, so that close_all ends them all.
//
// As in etcd, a client that closes its sending side keeps its stream and its watchers; the
// stream ends when the client cancels it, when a write fails, or when the server stops
// (close_all) or the node fails.

#include "actors/node_context.hpp"
#include "actors/routes.hpp"

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include <etcdserverpb/rpc.grpc.pb.h>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_set>

namespace revkv::etcdapi {

class WatchSink;

class WatchService final : public etcdserverpb::Watch::CallbackService {
 public:
  // `sys` outlives the service.
  WatchService(caf::actor_system& sys, actors::NodeContextPtr ctx, actors::Routes routes);
  ~WatchService() override;

  grpc::ServerBidiReactor<etcdserverpb::WatchRequest, etcdserverpb::WatchResponse>* Watch(
      grpc::CallbackServerContext* context) override;

  // Ends every stream with `status` and every later one at once (the server is stopping,
  // or the node failed).
  void close_all(const grpc::Status& status);

  // Streams open now (tests, metrics).
  size_t open_streams() const;

  // Called by a stream's side (any thread). false: the server is stopping, the stream is
  // finished.
  bool opened(const std::shared_ptr<WatchSink>& sink);
  void closed(const std::shared_ptr<WatchSink>& sink);
  // The door actor of a stream that writes into `sink`.
  caf::actor spawn_door(std::shared_ptr<WatchSink> sink);
  const actors::NodeContextPtr& context() const { return ctx_; }

 private:
  caf::actor_system& sys_;
  actors::NodeContextPtr ctx_;
  actors::Routes routes_;
  mutable std::mutex mu_;
  std::unordered_set<std::shared_ptr<WatchSink>> open_;
  std::unique_ptr<grpc::Status> closing_;  // set by close_all
};

}  // namespace revkv::etcdapi
