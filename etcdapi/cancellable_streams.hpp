#pragma once

// Streams that never end by themselves (LeaseKeepAlive: a client keeps it open for as long
// as it holds leases), cancelled when the server stops so that its shutdown does not wait
// for them. gRPC's ServerContext::TryCancel may be called from any thread, but the context
// dies right after the stream's OnDone; so OnDone (Ticket::done) waits while another thread
// is inside TryCancel on that stream. TryCancel may also run the stream's reactions, OnDone
// included, inline on the cancelling thread: done() then does not wait for itself.

#include <condition_variable>
#include <grpcpp/grpcpp.h>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_set>

namespace revkv::etcdapi {

class CancellableStreams {
 public:
  class Ticket {
   public:
    explicit Ticket(grpc::CallbackServerContext* context) : context_(context) {}
    // Cancels the call unless it is done already.
    void cancel();
    // From the stream's OnDone: the context is not touched afterwards.
    void done();

   private:
    std::mutex mu_;
    std::condition_variable cv_;
    grpc::CallbackServerContext* context_;  // null once done
    bool cancelling_ = false;
    std::thread::id canceller_;
  };
  using TicketPtr = std::shared_ptr<Ticket>;

  // A stream opened: its ticket. While stopping, the stream is cancelled at once.
  TicketPtr open(grpc::CallbackServerContext* context);
  // From the stream's OnDone.
  void close(const TicketPtr& ticket);
  // Cancels every open stream and every one opened from now on.
  void cancel_all();

 private:
  std::mutex mu_;
  std::unordered_set<TicketPtr> open_;
  bool stopping_ = false;
};

}  // namespace revkv::etcdapi
