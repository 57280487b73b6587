#include "etcdapi/h2_watch_call.hpp"

#include "actors/request_path.hpp"
#include "etcdapi/auth_token.hpp"
#include "etcdapi/convert.hpp"
#include "etcdapi/grpc_door.hpp"
#include "etcdapi/h2_caller.hpp"
#include "etcdapi/status_interceptor.hpp"
#include "etcdapi/watch_door.hpp"
#include "etcdapi/watch_service.hpp"
#include "etcdapi/watch_sink.hpp"

#include <caf/all.hpp>

#include <atomic>
#include <deque>
#include <optional>
#include <string>
#include <utility>

namespace revkv::etcdapi::h2 {

namespace {

using Series = metrics::GrpcServerMetrics::Method;

// The stream as its door actor sees it (WatchSink), and the stream's state on the loop.
// Members marked [loop] are touched on the loop's thread only; the door actor's thread
// reaches the loop by posting.
class StreamSink final : public WatchSink, public std::enable_shared_from_this<StreamSink> {
 public:
  StreamSink(Loop& loop, StreamRef ref, const RequestHead& head, WatchService& service,
             const Series* series)
      : loop_(loop),
        mailbox_(loop.mailbox()),
        ref_(ref),
        service_(service),
        ctx_(service.context()),
        series_(series),
        notice_bytes_(std::max<uint64_t>(1, ctx_->options.watch_buffer_bytes / 2)),
        timeout_(head.timeout) {
    if (auto token = token_of(head)) token_ = std::string(*token);
    certificate_cn_ = certificate_cn_of(*ctx_, head);
    if (series_) series_->started->Increment();
  }

  // [loop] Once, right after construction.
  void open() {
    if (!service_.opened(shared_from_this())) return;  // finished: the server is stopping
    door_ = service_.spawn_door(shared_from_this());
    // Past the call's grpc-timeout the stream ends, as etcd's Watch returns once its
    // stream's context has expired.
    if (timeout_)
      deadline_ = loop_.run_after(*timeout_, [weak = weak_from_this()](Loop& loop) {
        if (auto self = weak.lock()) {
          self->deadline_ = {};
          self->end(loop, static_cast<int>(grpc::StatusCode::DEADLINE_EXCEEDED),
                    "context deadline exceeded");
        }
      });
  }

  // -- WatchSink, on the door actor's thread

  void push(etcdserverpb::WatchResponse response) override {
    if (finished_.load()) return;
    auto bytes = std::make_shared<const std::string>(response.SerializeAsString());
    posted_.fetch_add(bytes->size());
    Loop::post(mailbox_,
               [self = shared_from_this(), bytes](Loop& loop) { self->write(loop, bytes); });
  }

  void answered() override {
    Loop::post(mailbox_, [self = shared_from_this()](Loop& loop) { self->on_answered(loop); });
  }

  uint64_t unsent_bytes() const override {
    uint64_t total = unsent_now();
    if (total < notice_bytes_) return total;
    // The door wants to hear when the client has taken some. The flag is set before the
    // counts are read again: either this read sees the loop's newer counts, or the loop,
    // which stores its counts before it looks at the flag, sees the flag.
    watched_.store(true);
    return unsent_now();
  }

  // Any thread.
  void finish(grpc::Status status) override {
    if (finished_.exchange(true)) return;
    Loop::post(mailbox_,
               [self = shared_from_this(), code = static_cast<int>(status.error_code()),
                message = status.error_message()](Loop& loop) { self->end(loop, code, message); });
  }

  // -- the stream's side, on the loop's thread

  // StreamHandler::on_message.
  bool take(Loop& loop, std::string message, size_t wire) {
    if (!open_) return false;
    if (!waiting_.empty() || !may_submit()) {
      // Held against the stream's window until it may go (take_waiting).
      waiting_.push_back(std::move(message));
      held_.push_back(wire);
      return true;
    }
    switch (submit(loop, message)) {
      case Taken::submitted:
        held_.push_back(wire);
        return true;
      case Taken::skipped:
        if (held_.empty()) return false;
        // Released in order, behind the messages before it.
        held_.push_back(wire);
        ++releasable_;
        return true;
      case Taken::failed:
        break;
    }
    return false;
  }

  // StreamHandler::on_drained: the loop wrote some of the stream's output.
  void drained(Loop& loop) { pump(loop); }

  // The stream ended by the client's or the loop's doing (`code`: how it counts), or its
  // handler is going (nullopt).
  void gone(std::optional<int> code) {
    finished_.store(true);
    if (open_) {
      open_ = false;
      loop_.cancel_timer(deadline_);
      if (code) count_handled(*code);
    }
    stop_door();
  }

  // The handler is destroyed: the stream is no more.
  void closed() {
    gone(std::nullopt);
    service_.closed(shared_from_this());
  }

 private:
  enum class Taken { submitted, skipped, failed };

  uint64_t unsent_now() const {
    return posted_.load() + queued_bytes_.load() + loop_unsent_.load();
  }

  // [loop] Whether the next request may go to the door: fewer than the credit wait for
  // their answers, and the client takes what it is sent (one that sent creates without end
  // and never read would otherwise grow watchers and their answers without end).
  bool may_submit() const {
    return outstanding_ < kWatchRequestsOutstanding && unsent_now() < notice_bytes_;
  }

  Taken submit(Loop& loop, const std::string& message) {
    etcdserverpb::WatchRequest parsed;
    if (!parsed.ParseFromString(message)) {
      // etcd's Watch returns its receive error at once: the stream ends with it, and
      // answers not written yet are not written.
      end(loop, static_cast<int>(grpc::StatusCode::INTERNAL), kUnparsableStreamMessage);
      return Taken::failed;
    }
    if (series_) series_->msg_received->Increment();
    auto request = from_proto(parsed);
    if (!request || !door_) return Taken::skipped;  // no member of the oneof set: etcd skips it
    caf::anon_send(door_, watch_submit_atom::value, actors::Request{std::move(*request)},
                   caller_for(*ctx_, token_, certificate_cn_));
    ++outstanding_;
    return Taken::submitted;
  }

  void on_answered(Loop& loop) {
    if (!open_) return;
    if (outstanding_ > 0) --outstanding_;
    ++releasable_;
    take_waiting(loop);
  }

  // [loop] The requests held back, as far as the credit and the output allow; then the
  // bytes of as many messages as have been answered or skipped go back to the client's
  // window, whole and oldest first.
  void take_waiting(Loop& loop) {
    while (open_ && !waiting_.empty() && may_submit()) {
      auto message = std::move(waiting_.front());
      waiting_.pop_front();
      auto taken = submit(loop, message);
      if (taken == Taken::failed) return;  // the stream ends, and its bytes with it
      if (taken == Taken::skipped) ++releasable_;
    }
    for (; releasable_ > 0 && !held_.empty(); --releasable_) {
      loop.release(ref_, held_.front());
      held_.pop_front();
    }
  }

  void write(Loop& loop, std::shared_ptr<const std::string> bytes) {
    const size_t size = bytes->size();
    if (!open_) {
      posted_.fetch_sub(size);
      return;
    }
    // Counted as queued before it stops counting as posted: never seen as gone meanwhile.
    queued_bytes_.fetch_add(size);
    posted_.fetch_sub(size);
    queued_.push_back(std::move(bytes));
    pump(loop);
  }

  // [loop] Hands queued responses to the loop while the stream and its connection are below
  // the loop's unsent limits (1 MiB and 8 MiB), as a relayed stream reads from gRPC only
  // then: what a client that does not read leaves here counts as its stream's alone, so its
  // backlog never makes the connection's other calls wait or be refused.
  void pump(Loop& loop) {
    while (open_ && !queued_.empty() && loop.may_send_more(ref_)) {
      loop.send(ref_, *queued_.front());
      if (series_) series_->msg_sent->Increment();
      queued_bytes_.fetch_sub(queued_.front()->size());
      queued_.pop_front();
    }
    refresh(loop);
  }

  // [loop] What the loop holds unsent, for unsent_bytes(); while it holds some or more is
  // queued, the loop tells the handler when it has written more and has room (on_drained).
  // Below the notice level the door hears of it if it asked, and requests held back for
  // the output go on.
  void refresh(Loop& loop) {
    if (!open_) return;
    auto unsent = loop.stream_unsent(ref_).value_or(0);
    loop_unsent_.store(unsent);
    if (unsent > 0 || !queued_.empty()) loop.wait_to_send(ref_);
    if (unsent_now() >= notice_bytes_) return;
    if (watched_.exchange(false) && door_)
      caf::anon_send(door_, grpc_sent_atom::value, uint64_t{0});
    if (!waiting_.empty()) take_waiting(loop);
  }

  void end(Loop& loop, int code, std::string_view message) {
    finished_.store(true);
    if (!open_) return;
    // What waits for room in the loop is not written, as the outbox drops its queue.
    queued_.clear();
    queued_bytes_.store(0);
    open_ = false;
    loop.cancel_timer(deadline_);
    count_handled(code);
    loop.finish(ref_, code, message);
    stop_door();
  }

  void count_handled(int code) {
    if (series_) series_->handled_with(code);
  }

  void stop_door() {
    if (auto door = std::exchange(door_, caf::actor{}))
      caf::anon_send_exit(door, caf::exit_reason::user_shutdown);
  }

  Loop& loop_;  // outlives its handlers: the stream ends (gone) before it does
  const Loop::MailboxPtr mailbox_;
  const StreamRef ref_;
  WatchService& service_;
  const actors::NodeContextPtr ctx_;
  const Series* const series_;
  const uint64_t notice_bytes_;
  const std::optional<std::chrono::nanoseconds> timeout_;
  std::optional<std::string> token_;
  std::optional<std::string> certificate_cn_;

  std::atomic<bool> finished_{false};  // no more output is taken
  std::atomic<uint64_t> posted_{0};    // posted to the loop, not yet queued on it
  std::atomic<uint64_t> queued_bytes_{0};
  std::atomic<uint64_t> loop_unsent_{0};
  mutable std::atomic<bool> watched_{false};

  caf::actor door_;                  // [loop]
  Loop::TimerId deadline_;           // [loop] none, or the grpc-timeout's
  bool open_ = true;                 // [loop] the stream has not ended
  size_t outstanding_ = 0;           // [loop] requests handed to the door, not answered
  std::deque<std::string> waiting_;  // [loop] requests held back
  std::deque<size_t> held_;          // [loop] wire bytes of the messages held, oldest first
  size_t releasable_ = 0;            // [loop] how many of those may be released
  // [loop] responses not handed to the loop yet (queued_bytes_ counts them).
  std::deque<std::shared_ptr<const std::string>> queued_;
};

class WatchStream final : public StreamHandler {
 public:
  WatchStream(Loop& loop, std::shared_ptr<StreamSink> sink) : loop_(loop), sink_(std::move(sink)) {}
  ~WatchStream() override { sink_->closed(); }
  WatchStream(const WatchStream&) = delete;
  WatchStream& operator=(const WatchStream&) = delete;

  bool on_message(std::string message, size_t wire) override {
    return sink_->take(loop_, std::move(message), wire);
  }
  // etcd keeps a stream whose client closed its side, with its watchers.
  void on_half_close() override {}
  void on_abandoned() override { sink_->gone(static_cast<int>(grpc::StatusCode::CANCELLED)); }
  void on_refused(int code) override { sink_->gone(code); }
  void on_drained() override { sink_->drained(loop_); }

 private:
  Loop& loop_;
  std::shared_ptr<StreamSink> sink_;
};

}  // namespace

std::unique_ptr<StreamHandler> serve_watch(Loop& loop, StreamRef ref, const RequestHead& head,
                                           WatchService& service, const Series* series) {
  auto sink = std::make_shared<StreamSink>(loop, ref, head, service, series);
  sink->open();
  return std::make_unique<WatchStream>(loop, std::move(sink));
}

}  // namespace revkv::etcdapi::h2
