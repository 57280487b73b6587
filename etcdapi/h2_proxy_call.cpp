#include "etcdapi/h2_proxy_call.hpp"

#include "etcdapi/auth_token.hpp"

#include <algorithm>
#include <chrono>
#include <deque>
#include <grpcpp/grpcpp.h>
#include <grpcpp/support/client_callback.h>
#include <mutex>
#include <string>
#include <utility>

namespace revkv::etcdapi::h2 {

namespace {

// gRPC's own cap on a deadline is far away; a client's grpc-timeout of up to 99,999,999
// hours is clamped to a century so that adding it to the clock cannot overflow.
constexpr auto kLongestTimeout = std::chrono::hours(24 * 365 * 100);

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
// recursive mutex. gRPC frees its call object before OnDone runs, once no operation and no
// hold is outstanding: the relay keeps a hold until the call's reads end or its stream
// goes (end_hold), and starts nothing after that (`ending_`).
class Relay final : public grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  Relay(Loop::MailboxPtr mailbox, StreamRef ref, std::shared_ptr<LiveCount> count)
      : mailbox_(std::move(mailbox)), ref_(ref), count_(std::move(count)) {
    count_->add();
  }

  void start(grpc::GenericStub& stub, const RequestHead& head,
             const std::optional<std::string>& certificate_cn, std::shared_ptr<Relay> self) {
    for (const auto& [name, value] : head.metadata)
      context_.AddMetadata(name, value);
    // Only a CN gRPC takes as a metadata value; another (no such CN is a user name) is left
    // out, and the call is anonymous as without a certificate.
    if (certificate_cn && forwarded_as_metadata("token", *certificate_cn))
      context_.AddMetadata(kRelayedCnKey, *certificate_cn);
    if (head.timeout)
      context_.set_deadline(
          std::chrono::system_clock::now() +
          std::chrono::duration_cast<std::chrono::system_clock::duration>(
              std::min<std::chrono::nanoseconds>(*head.timeout, kLongestTimeout)));
    std::lock_guard lock(mu_);
    self_ = std::move(self);
    stub.PrepareBidiStreamingCall(&context_, head.path, grpc::StubOptions(), this);
    StartRead(&in_);
    AddHold();
    StartCall();
  }

  // Lets the call end: once, when its reads have ended or its stream is gone.
  void end_hold() {
    {
      std::lock_guard lock(mu_);
      if (ending_) return;
      ending_ = true;
    }
    RemoveHold();
  }

  // --- from the loop's thread ---

  // Queues a request that took `wire` bytes on the wire; false when the call is over (the
  // message is dropped, nothing held).
  bool write(std::string message, size_t wire) {
    std::lock_guard lock(mu_);
    if (ending_ || closing_) return false;
    queue_.emplace_back(buffer_of(std::move(message)), wire);
    if (queue_.size() == 1) StartWrite(&queue_.front().first);
    return true;
  }
  void writes_done() {
    std::lock_guard lock(mu_);
    if (ending_ || closing_) return;
    closing_ = true;
    if (queue_.empty()) StartWritesDone();
  }
  void cancel() { context_.TryCancel(); }
  void read_next() {
    std::lock_guard lock(mu_);
    if (!ending_) StartRead(&in_);
  }

  // --- gRPC's reactions ---

  void OnReadDone(bool ok) override {
    if (!ok) {
      // The call's end (its status is in): nothing more to read, the hold can go.
      end_hold();
      return;
    }
    auto message = std::make_shared<std::string>(bytes_of(in_));
    in_.Clear();
    auto self = self_ref();
    if (!self) return;
    Loop::post(mailbox_, [self, message](Loop& loop) {
      loop.send(self->ref_, *message);
      if (loop.may_send_more(self->ref_)) {
        self->read_next();
      } else {
        // Read on once the client took enough (StreamHandler::on_drained).
        loop.wait_to_send(self->ref_);
      }
    });
  }

  void OnWriteDone(bool ok) override {
    size_t taken = 0;
    {
      std::lock_guard lock(mu_);
      if (queue_.empty()) return;
      if (ok) {
        taken = queue_.front().second;
        queue_.pop_front();
      } else {
        // The call is over: nothing queued will be taken.
        for (const auto& [buffer, wire] : queue_)
          taken += wire;
        queue_.clear();
      }
      if (ending_) {
        // Nothing starts once the hold is gone; what is queued will not be taken.
        for (const auto& [buffer, wire] : queue_)
          taken += wire;
        queue_.clear();
      } else if (!queue_.empty()) {
        StartWrite(&queue_.front().first);
      } else if (ok && closing_) {
        StartWritesDone();
      }
    }
    // The service took the request: the client may send that much more.
    const StreamRef ref = ref_;
    Loop::post(mailbox_, [ref, taken](Loop& loop) { loop.release(ref, taken); });
  }

  void OnDone(const grpc::Status& status) override {
    // Copied out first: the last reference to this may go with `keep`.
    auto count = count_;
    const StreamRef ref = ref_;
    Loop::post(mailbox_,
               [ref, code = static_cast<int>(status.error_code()),
                message = status.error_message()](Loop& loop) { loop.finish(ref, code, message); });
    std::shared_ptr<Relay> keep;
    {
      std::lock_guard lock(mu_);
      keep = std::move(self_);
    }
    keep.reset();
    count->done();
  }

 private:
  std::shared_ptr<Relay> self_ref() {
    std::lock_guard lock(mu_);
    return self_;
  }

  Loop::MailboxPtr mailbox_;
  const StreamRef ref_;
  std::shared_ptr<LiveCount> count_;
  grpc::ClientContext context_;
  std::recursive_mutex mu_;
  std::shared_ptr<Relay> self_;  // until OnDone
  bool ending_ = false;          // the hold is gone: nothing may be started
  bool closing_ = false;         // the client sent all it will
  // Requests and the bytes each took on the wire; front: the write in flight.
  std::deque<std::pair<grpc::ByteBuffer, size_t>> queue_;
  grpc::ByteBuffer in_;
};

// The stream's side, on the loop's thread. Its end (however it comes) cancels the call if
// it is still running.
class RelayedStream final : public StreamHandler {
 public:
  explicit RelayedStream(std::shared_ptr<Relay> relay) : relay_(std::move(relay)) {}
  ~RelayedStream() override { detach(); }
  RelayedStream(const RelayedStream&) = delete;
  RelayedStream& operator=(const RelayedStream&) = delete;

  bool on_message(std::string message, size_t wire) override {
    return relay_->write(std::move(message), wire);
  }
  void on_half_close() override { relay_->writes_done(); }
  void on_abandoned() override { detach(); }
  void on_refused(int) override { detach(); }
  void on_drained() override { relay_->read_next(); }

 private:
  // The stream is gone or over: the call is cancelled if it still runs, and may end.
  void detach() {
    relay_->cancel();
    relay_->end_hold();
  }

  std::shared_ptr<Relay> relay_;
};

}  // namespace

std::unique_ptr<StreamHandler> relay_call(Loop& loop, StreamRef ref, const RequestHead& head,
                                          std::optional<std::string> certificate_cn,
                                          grpc::GenericStub& stub,
                                          std::shared_ptr<LiveCount> count) {
  auto relay = std::make_shared<Relay>(loop.mailbox(), ref, std::move(count));
  relay->start(stub, head, certificate_cn, relay);
  return std::make_unique<RelayedStream>(std::move(relay));
}

}  // namespace revkv::etcdapi::h2
