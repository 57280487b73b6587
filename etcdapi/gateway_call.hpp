#pragma once

// The gateway's calls onto revkvd's own gRPC server, through its in-process channel (as
// etcd's grpc-gateway dials its own gRPC server): serialized messages on a generic stub,
// so one piece of code carries every route and every answer is the gRPC door's own.

#include <deque>
#include <functional>
#include <grpcpp/client_context.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/client_callback.h>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace revkv::etcdapi::gateway {

// Held by every call until it is done: stopping waits for all of them, since their
// callbacks reach into the gateway's sessions.
using CallToken = std::shared_ptr<void>;

// One unary call; `done` runs once, on a gRPC thread. `authorization`: the HTTP request's
// Authorization header (an auth token), passed on as gRPC metadata as etcd's gateway does;
// empty: none.
void call_unary(grpc::GenericStub& stub, const char* method, grpc::ByteBuffer request,
                CallToken token, std::string_view authorization,
                std::function<void(grpc::Status, grpc::ByteBuffer)> done);

// One streaming call. Answers come one at a time: the next is read only after the
// receiver calls `resume(true)` (so a slow HTTP client holds one message, not a queue);
// `resume(false)` cancels the call. `done` runs once, last.
class StreamCall final : public grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>,
                         public std::enable_shared_from_this<StreamCall> {
 public:
  struct Receiver {
    // On a gRPC thread; must call `resume` exactly once.
    std::function<void(grpc::ByteBuffer message, std::function<void(bool)> resume)> message;
    std::function<void(grpc::Status)> done;
  };

  // Sends `requests`; then closes the client's side when `close_send` (Watch keeps it
  // open: its watchers live as long as the stream). `authorization`: the HTTP request's
  // Authorization header, passed on as metadata as for a unary call ("" for none).
  static std::shared_ptr<StreamCall> start(grpc::GenericStub& stub, const char* method,
                                           std::vector<grpc::ByteBuffer> requests, bool close_send,
                                           Receiver receiver, CallToken token,
                                           std::string_view authorization);

  // Use start().
  StreamCall(std::vector<grpc::ByteBuffer> requests, bool close_send, Receiver receiver,
             CallToken token);

  // Ends the call from the client's side (the HTTP client went away, or the node stops).
  void cancel() { context_.TryCancel(); }
  // One more request, written after those before it (a watch body's next WatchRequest,
  // decoded as it arrives). From any thread.
  void send(grpc::ByteBuffer request);

  void OnWriteDone(bool ok) override;
  void OnReadDone(bool ok) override;
  void OnDone(const grpc::Status& status) override;

 private:
  void resume(bool more);

  grpc::ClientContext context_;
  // Requests not yet written, the one being written first; a deque keeps the element a
  // write points at in place while more are added.
  std::mutex mutex_;
  std::deque<grpc::ByteBuffer> requests_;
  bool writing_ = false;
  bool write_failed_ = false;
  bool finished_ = false;
  bool close_send_;
  Receiver receiver_;
  CallToken token_;
  grpc::ByteBuffer incoming_;
  // Itself, from start() until OnDone: gRPC calls the reactor until then.
  std::shared_ptr<StreamCall> self_;
};

}  // namespace revkv::etcdapi::gateway
