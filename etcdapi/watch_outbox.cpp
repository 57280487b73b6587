#include "etcdapi/watch_outbox.hpp"

#include "etcdapi/grpc_door.hpp"

#include <caf/all.hpp>

namespace revkv::etcdapi {

WatchOutbox::WatchOutbox(WatchCall* call, size_t max_outstanding)
    : max_outstanding_(std::max<size_t>(1, max_outstanding)), call_(call) {}

void WatchOutbox::set_door(caf::actor door) {
  std::lock_guard lock(mu_);
  door_ = std::move(door);
}

void WatchOutbox::push(etcdserverpb::WatchResponse response) {
  uint64_t bytes = response.ByteSizeLong();
  const etcdserverpb::WatchResponse* first = nullptr;
  {
    std::lock_guard lock(mu_);
    if (finished_ || finish_wanted_ || !call_) return;
    queue_.push_back(Queued{std::move(response), bytes});
    unsent_.fetch_add(bytes, std::memory_order_relaxed);
    if (writing_) return;
    writing_ = true;
    ++busy_;
    // std::deque keeps references to its elements valid across push_back.
    first = &queue_.front().response;
  }
  call_->StartWrite(first);
  leave_gate();
}

void WatchOutbox::answered() {
  {
    std::lock_guard lock(mu_);
    if (outstanding_ > 0) --outstanding_;
    if (!read_paused_ || outstanding_ >= max_outstanding_ || finished_ || finish_wanted_ || !call_)
      return;
    read_paused_ = false;
    ++busy_;
  }
  call_->read_next();
  leave_gate();
}

bool WatchOutbox::read_and_may_read_next() {
  std::lock_guard lock(mu_);
  ++outstanding_;
  if (finished_ || finish_wanted_) return false;
  if (outstanding_ >= max_outstanding_) {
    read_paused_ = true;
    return false;
  }
  return true;
}

void WatchOutbox::reads_ended() {
  std::lock_guard lock(mu_);
  reads_ended_ = true;
}

void WatchOutbox::write_done(bool ok) {
  const etcdserverpb::WatchResponse* next = nullptr;
  std::optional<grpc::Status> finish;
  bool drained = false;
  caf::actor door;
  {
    std::lock_guard lock(mu_);
    if (!queue_.empty()) {
      unsent_.fetch_sub(queue_.front().bytes, std::memory_order_relaxed);
      queue_.pop_front();
    }
    // A failed write: the client is gone (its cancellation finishes the call too).
    if (!ok && !finish_wanted_ && !finished_) finish_wanted_ = grpc::Status::CANCELLED;
    if (ok && !finish_wanted_ && !finished_ && !queue_.empty()) {
      next = &queue_.front().response;  // still writing_
    } else {
      writing_ = false;
      finish = take_finish_locked();
      drained = queue_.empty();
      door = door_;
    }
  }
  // Inside a reaction the reactor is alive: no gate needed.
  if (next) return call_->StartWrite(next);
  run_finish(std::move(finish));
  if (drained && door) caf::anon_send(door, grpc_sent_atom::value, uint64_t{0});
}

void WatchOutbox::finish(grpc::Status status) {
  std::optional<grpc::Status> now;
  {
    std::lock_guard lock(mu_);
    if (finished_ || finish_wanted_ || !call_) return;
    finish_wanted_ = std::move(status);
    now = take_finish_locked();
  }
  run_finish(std::move(now));
}

std::optional<grpc::Status> WatchOutbox::take_finish_locked() {
  if (!finish_wanted_ || finished_ || writing_ || busy_ > 0) return std::nullopt;
  finished_ = true;
  // Nothing will be written any more.
  for (const auto& q : queue_)
    unsent_.fetch_sub(q.bytes, std::memory_order_relaxed);
  queue_.clear();
  return finish_wanted_;
}

void WatchOutbox::run_finish(std::optional<grpc::Status> status) {
  // Finish is the last call into the reactor: OnDone (and its delete) may follow at once.
  if (status) call_->Finish(std::move(*status));
}

void WatchOutbox::leave_gate() {
  std::optional<grpc::Status> finish;
  {
    std::lock_guard lock(mu_);
    --busy_;
    finish = take_finish_locked();
  }
  run_finish(std::move(finish));
}

void WatchOutbox::done() {
  caf::actor door;
  {
    std::lock_guard lock(mu_);
    call_ = nullptr;
    finished_ = true;
    queue_.clear();
    unsent_.store(0, std::memory_order_relaxed);
    door = std::move(door_);
  }
  if (door) caf::anon_send_exit(door, caf::exit_reason::user_shutdown);
}

}  // namespace revkv::etcdapi
