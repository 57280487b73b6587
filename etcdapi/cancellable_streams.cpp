#include "etcdapi/cancellable_streams.hpp"

#include <vector>

namespace revkv::etcdapi {

void CancellableStreams::Ticket::cancel() {
  grpc::CallbackServerContext* context = nullptr;
  {
    std::lock_guard lock(mu_);
    if (!context_ || cancelling_) return;
    context = context_;
    cancelling_ = true;
    canceller_ = std::this_thread::get_id();
  }
  context->TryCancel();
  {
    std::lock_guard lock(mu_);
    cancelling_ = false;
  }
  cv_.notify_all();
}

void CancellableStreams::Ticket::done() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [this] { return !cancelling_ || canceller_ == std::this_thread::get_id(); });
  context_ = nullptr;
}

CancellableStreams::TicketPtr CancellableStreams::open(grpc::CallbackServerContext* context) {
  auto ticket = std::make_shared<Ticket>(context);
  bool stopping = false;
  {
    std::lock_guard lock(mu_);
    stopping = stopping_;
    open_.insert(ticket);
  }
  if (stopping) ticket->cancel();
  return ticket;
}

void CancellableStreams::close(const TicketPtr& ticket) {
  ticket->done();
  std::lock_guard lock(mu_);
  open_.erase(ticket);
}

void CancellableStreams::cancel_all() {
  std::vector<TicketPtr> open;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    open.assign(open_.begin(), open_.end());
  }
  // Outside the lock: a cancellation may run OnDone inline, which closes its ticket.
  for (const auto& ticket : open)
    ticket->cancel();
}

}  // namespace revkv::etcdapi
