#include "etcdapi/h2_proxy_call.hpp"

#include "etcdapi/auth_token.hpp"

#include <deque>
#include <grpcpp/grpcpp.h>
#include <grpcpp/support/client_callback.h>
#include <string>

namespace revkv::etcdapi::h2 {

namespace {

std::string bytes_of(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  std::string out;
  if (!buffer.Dump(&slices).ok()) return out;
  out.reserve(buffer.Length());
  for (const auto& s : slices)
    out.append(reinterpret_cast<const char*>(s.begin()), s.size());
  return out;
}

grpc::ByteBuffer buffer_of(std::string bytes) {
  grpc::Slice slice(std::move(bytes));
  return grpc::ByteBuffer(&slice, 1);
}

// The in-process call. gRPC's reactions may run on its threads or inline inside a Start*
// made by the loop (gRPC runs finished callbacks when its API call returns), hence the
// recursive mutex; `done_` keeps anyone from touching the call after OnDone.
class Relay final : public grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  Relay(Loop::MailboxPtr mailbox, StreamRef ref, RelayCount& count)
      : mailbox_(std::move(mailbox)), ref_(ref), count_(count) {
    count_.add();
  }

  void start(grpc::GenericStub& stub, const RequestHead& head, std::shared_ptr<Relay> self) {
    for (const auto& [name, value] : head.metadata)
      context_.AddMetadata(name, value);
    if (head.fd >= 0) context_.AddMetadata(kRelayedFdKey, std::to_string(head.fd));
    if (head.timeout)
      context_.set_deadline(
          std::chrono::system_clock::now() +
          std::chrono::duration_cast<std::chrono::system_clock::duration>(*head.timeout));
    std::lock_guard lock(mu_);
    self_ = std::move(self);
    stub.PrepareBidiStreamingCall(&context_, head.path, grpc::StubOptions(), this);
    StartRead(&in_);
    StartCall();
  }

  // --- from the loop's thread ---

  // False when the requests not yet taken are over the bound.
  bool write(std::string message) {
    std::lock_guard lock(mu_);
    if (done_) return true;
    if (queued_bytes_ > kMaxQueuedRequestBytes) return false;
    queued_bytes_ += message.size();
    queue_.push_back(buffer_of(std::move(message)));
    if (queue_.size() == 1) StartWrite(&queue_.front());
    return true;
  }
  void writes_done() {
    std::lock_guard lock(mu_);
    if (done_ || closing_) return;
    closing_ = true;
    if (queue_.empty()) StartWritesDone();
  }
  void cancel() { context_.TryCancel(); }
  void read_next() {
    std::lock_guard lock(mu_);
    if (!done_) StartRead(&in_);
  }

  // --- gRPC's reactions ---

  void OnReadDone(bool ok) override {
    if (!ok) return;  // the end; OnDone follows
    auto message = std::make_shared<std::string>(bytes_of(in_));
    in_.Clear();
    auto self = self_ref();
    Loop::post(mailbox_, [self, message](Loop& loop) {
      loop.send(self->ref_, *message);
      const auto unsent = loop.stream_unsent(self->ref_);
      if (!unsent) return;  // the client's stream is gone; OnDone will follow the cancel
      if (*unsent < loop_limit(loop)) {
        self->read_next();
      } else {
        self->paused_ = true;  // the loop resumes it from on_drained
      }
    });
  }

  void OnWriteDone(bool ok) override {
    std::lock_guard lock(mu_);
    if (queue_.empty()) return;
    queued_bytes_ -= queue_.front().Length();
    queue_.pop_front();
    if (!ok) {
      queue_.clear();
      queued_bytes_ = 0;
      return;
    }
    if (!queue_.empty()) {
      StartWrite(&queue_.front());
    } else if (closing_) {
      StartWritesDone();
    }
  }

  void OnDone(const grpc::Status& status) override {
    std::shared_ptr<Relay> keep;
    {
      std::lock_guard lock(mu_);
      done_ = true;
      keep = std::move(self_);
    }
    const StreamRef ref = ref_;
    Loop::post(mailbox_,
               [ref, code = static_cast<int>(status.error_code()),
                message = status.error_message()](Loop& loop) { loop.finish(ref, code, message); });
    count_.done();
  }

  // Only on the loop's thread.
  bool paused_ = false;

 private:
  static uint64_t loop_limit(const Loop& loop);

  std::shared_ptr<Relay> self_ref() {
    std::lock_guard lock(mu_);
    return self_;
  }

  Loop::MailboxPtr mailbox_;
  const StreamRef ref_;
  RelayCount& count_;
  grpc::ClientContext context_;
  std::recursive_mutex mu_;
  std::shared_ptr<Relay> self_;  // until OnDone
  bool done_ = false;
  bool closing_ = false;                // the client sent all it will
  std::deque<grpc::ByteBuffer> queue_;  // front: the write in flight
  uint64_t queued_bytes_ = 0;
  grpc::ByteBuffer in_;
};

uint64_t Relay::loop_limit(const Loop& loop) {
  return loop.limits().stream_unsent_limit;
}

// The stream's side, on the loop's thread.
class RelayedStream final : public StreamHandler {
 public:
  RelayedStream(Loop& loop, StreamRef ref, std::shared_ptr<Relay> relay)
      : loop_(loop), ref_(ref), relay_(std::move(relay)) {}

  void on_message(std::string message) override {
    if (!relay_->write(std::move(message))) {
      relay_->cancel();
      loop_.finish(ref_, 8, "revkv: the stream's requests arrive faster than they are taken");
    }
  }
  void on_half_close() override { relay_->writes_done(); }
  void on_abandoned() override { relay_->cancel(); }
  void on_drained() override {
    if (!relay_->paused_) return;
    relay_->paused_ = false;
    relay_->read_next();
  }

 private:
  Loop& loop_;
  const StreamRef ref_;
  std::shared_ptr<Relay> relay_;
};

}  // namespace

std::unique_ptr<StreamHandler> relay_call(Loop& loop, StreamRef ref, RequestHead head,
                                          grpc::GenericStub& stub, RelayCount& count) {
  auto relay = std::make_shared<Relay>(loop.mailbox(), ref, count);
  relay->start(stub, head, relay);
  return std::make_unique<RelayedStream>(loop, ref, std::move(relay));
}

}  // namespace revkv::etcdapi::h2
