#pragma once

// etcd's Watch service: one bidirectional stream per call, many watchers per stream. Each
// stream gets its own door actor (etcdapi/watch_door.hpp) hosting a RequestPath, which
// runs the watch-stream protocol exactly as for a MessagePack connection; the reactor only
// converts requests and writes responses (etcdapi/watch_outbox.hpp).
//
// As in etcd, a client that closes its sending side keeps its stream and its watchers; the
// stream ends when the client cancels it, when a write fails, or when the server stops
// (close_all) or the node fails.

#include "actors/node_context.hpp"
#include "actors/routes.hpp"

#include <caf/fwd.hpp>

#include <etcdserverpb/rpc.grpc.pb.h>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_set>

namespace revkv::etcdapi {

class WatchOutbox;

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

  // Called by a stream's reactor. false: the server is stopping, the stream is finished.
  bool opened(const std::shared_ptr<WatchOutbox>& outbox);
  void closed(const std::shared_ptr<WatchOutbox>& outbox);

 private:
  caf::actor_system& sys_;
  actors::NodeContextPtr ctx_;
  actors::Routes routes_;
  mutable std::mutex mu_;
  std::unordered_set<std::shared_ptr<WatchOutbox>> open_;
  std::unique_ptr<grpc::Status> closing_;  // set by close_all
};

}  // namespace revkv::etcdapi
