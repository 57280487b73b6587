#pragma once

// One watch stream of either door, behind one interface, so the watch tests run the same
// body against the MessagePack door and the gRPC door:
//
//   watch(request)    sends a create/cancel/progress and returns its answer; the
//                     responses of other watchers read meanwhile go to the handler. A
//                     progress request that etcd leaves unanswered (a watcher of the
//                     stream is not synced) returns an empty response, as the MessagePack
//                     door answers it
//   pump_for(t)       hands whatever arrives within t to the handler; false if nothing did
//   set_handler(f)    f gets every watch response that answers no request, in order
//   pause()/resume()  stop/restart reading the stream (the MessagePack client reads only
//                     inside watch()/pump_for(), so these matter for gRPC only)
//
// Not thread-safe: one thread per stream, as with client::Client.

#include "client/client.hpp"
#include "protocol/messages.hpp"

#include <chrono>
#include <condition_variable>
#include <deque>
#include <etcdserverpb/rpc.grpc.pb.h>
#include <functional>
#include <grpcpp/grpcpp.h>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace revkv::testing {

using WatchHandler = std::function<void(protocol::WatchResponse)>;

class MsgpackWatchStream {
 public:
  static constexpr const char* kDoor = "MessagePack";
  // `endpoint` of the node's MessagePack door.
  explicit MsgpackWatchStream(const std::string& endpoint);

  void set_handler(WatchHandler handler);
  client::Result<protocol::WatchResponse> watch(const protocol::WatchRequest& request);
  client::Result<bool> pump_for(std::chrono::milliseconds timeout);
  void pause() {}
  void resume() {}

 private:
  std::unique_ptr<client::Client> client_;
};

class GrpcWatchStream {
 public:
  static constexpr const char* kDoor = "gRPC";
  // `endpoint` of the node's gRPC door.
  explicit GrpcWatchStream(const std::string& endpoint);
  ~GrpcWatchStream();
  GrpcWatchStream(const GrpcWatchStream&) = delete;
  GrpcWatchStream& operator=(const GrpcWatchStream&) = delete;

  void set_handler(WatchHandler handler) { handler_ = std::move(handler); }
  client::Result<protocol::WatchResponse> watch(const protocol::WatchRequest& request);
  // Sends a request without waiting for an answer (for the requests etcd may leave
  // unanswered: a cancel of an unknown watcher, a progress request); false if the stream
  // is gone. Its answer, if any, reaches the handler.
  bool send(const protocol::WatchRequest& request);
  client::Result<bool> pump_for(std::chrono::milliseconds timeout);
  void pause();
  void resume();
  // Closes the client's sending side (etcd keeps serving the stream's watchers).
  void close_send();
  // How the server ended the stream (OK until it has).
  grpc::Status final_status();

 private:
  void read_loop();
  client::Result<protocol::WatchResponse> progress(const protocol::WatchRequest& request);
  // Sends `request` and waits for its answer; what arrives before it goes to `keep` (which
  // may take it) or to the handler.
  client::Result<protocol::WatchResponse> exchange(
      const protocol::WatchRequest& request,
      const std::function<bool(protocol::WatchResponse&)>& keep = {});
  // Waits up to `timeout` for a response; nullopt when none came, an error when the stream
  // ended.
  client::Result<std::optional<protocol::WatchResponse>> next(std::chrono::milliseconds timeout);

  std::unique_ptr<etcdserverpb::Watch::Stub> stub_;
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReaderWriter<etcdserverpb::WatchRequest, etcdserverpb::WatchResponse>>
      stream_;
  WatchHandler handler_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<protocol::WatchResponse> inbox_;
  bool paused_ = false;
  bool ended_ = false;
  bool stopping_ = false;
  grpc::Status status_;  // once ended_
  std::thread reader_;
};

// Whether `response` is the answer to `request` (and not an event batch or a compaction
// cancel of another watcher).
bool answers(const protocol::WatchRequest& request, const protocol::WatchResponse& response);

}  // namespace revkv::testing
