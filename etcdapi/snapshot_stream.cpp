#include "etcdapi/snapshot_stream.hpp"

#include "etcdapi/convert.hpp"

#include <caf/all.hpp>

#include <deque>
#include <memory>
#include <mutex>
#include <optional>

namespace revkv::etcdapi {

namespace {

// Chunks arrive on the door's thread, writes complete on gRPC's: a queue under a lock,
// one write in flight (the callback API allows no more). The path holds back chunks
// while the door counts 4 MiB unwritten; each completed write is reported to the door
// (grpc_sent_atom) so the path sends more. The reactor finishes only once the door has
// answered (its callbacks point at `this`) and the queue is written or the client is gone.
class SnapshotStream final : public grpc::ServerWriteReactor<etcdserverpb::SnapshotResponse> {
 public:
  SnapshotStream(Doors& doors, auth::Caller caller)
      : door_(doors.next()), call_(std::make_shared<Call>()) {
    auto& call = call_;
    call->request = protocol::SnapshotRequest{};
    call->caller = std::move(caller);
    call->chunk = [this](std::string_view blob, uint64_t remaining) {
      etcdserverpb::SnapshotResponse m;
      m.set_blob(blob.data(), blob.size());
      m.set_remaining_bytes(remaining);
      push(std::move(m), blob.size());
    };
    call->done = [this](actors::Answer answer) { on_answer(std::move(answer)); };
    Doors::submit_to(door_, call_);
  }

  void OnWriteDone(bool ok) override {
    std::unique_lock lock(mutex_);
    uint64_t bytes = queue_.front().counted;
    queue_.pop_front();
    if (!ok) {
      broken_ = true;
      call_->abandoned = true;  // the door stops reading the snapshot and answers
      // What was queued will never be written: give its window back too.
      for (const auto& q : queue_)
        bytes += q.counted;
      queue_.clear();
    }
    // Taken under the lock: the door's thread may push meanwhile.
    auto* next = queue_.empty() ? nullptr : &queue_.front().message;
    bool finish = !next && status_;
    lock.unlock();
    if (bytes) caf::anon_send(door_, grpc_sent_atom::value, bytes);
    if (next) return StartWrite(next);
    if (finish) Finish(*status_);
  }

  void OnDone() override { delete this; }

 private:
  struct Pending {
    etcdserverpb::SnapshotResponse message;
    uint64_t counted = 0;  // bytes the door counts as unsent for this message
  };

  void push(etcdserverpb::SnapshotResponse message, uint64_t counted) {
    std::unique_lock lock(mutex_);
    if (broken_) {
      lock.unlock();
      if (counted) caf::anon_send(door_, grpc_sent_atom::value, counted);
      return;
    }
    // std::deque keeps the addresses of the elements that stay, so &front() survives
    // pushes at the back while gRPC writes it.
    queue_.push_back({std::move(message), counted});
    auto* first = queue_.size() == 1 ? &queue_.front().message : nullptr;
    lock.unlock();
    if (first) StartWrite(first);
  }

  void on_answer(actors::Answer answer) {
    const auto* r = std::get_if<actors::Response>(&answer);
    const auto* snapshot = r ? std::get_if<protocol::SnapshotResponse>(r) : nullptr;
    grpc::Status status = grpc::Status::OK;
    if (!r) {
      status = to_status(actors::wire_error(answer));
    } else if (!snapshot) {
      status = wrong_answer_type();
    } else {
      etcdserverpb::SnapshotResponse last;
      to_proto(snapshot->header, *last.mutable_header());
      last.set_blob(snapshot->sha256);
      last.set_remaining_bytes(0);
      push(std::move(last), 0);
    }
    std::unique_lock lock(mutex_);
    status_ = status;
    bool finish = queue_.empty();
    lock.unlock();
    if (finish) Finish(status);
  }

  caf::actor door_;
  CallPtr call_;
  std::mutex mutex_;
  std::deque<Pending> queue_;
  bool broken_ = false;                 // a write failed: the client is gone
  std::optional<grpc::Status> status_;  // the door's answer arrived
};

}  // namespace

grpc::ServerWriteReactor<etcdserverpb::SnapshotResponse>* start_snapshot(Doors& doors,
                                                                         auth::Caller caller) {
  return new SnapshotStream(doors, std::move(caller));
}

}  // namespace revkv::etcdapi
