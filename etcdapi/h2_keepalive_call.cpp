#include "etcdapi/h2_keepalive_call.hpp"

#include "etcdapi/convert.hpp"
#include "etcdapi/grpc_door.hpp"
#include "etcdapi/status_interceptor.hpp"
#include "etcdapi/unary_call.hpp"

#include <deque>
#include <etcdserverpb/rpc.pb.h>
#include <optional>
#include <string>
#include <utility>

namespace revkv::etcdapi::h2 {

bool KeepAliveStreams::opened(const std::shared_ptr<Stream>& stream) {
  std::lock_guard lock(mu_);
  if (cancelling_) return false;
  open_.insert(stream);
  return true;
}

void KeepAliveStreams::closed(const std::shared_ptr<Stream>& stream) {
  std::lock_guard lock(mu_);
  open_.erase(stream);
}

void KeepAliveStreams::cancel_all() {
  std::vector<std::shared_ptr<Stream>> open;
  {
    std::lock_guard lock(mu_);
    cancelling_ = true;
    open.assign(open_.begin(), open_.end());
  }
  for (const auto& stream : open)
    stream->cancel();
}

namespace {

using Series = metrics::GrpcServerMetrics::Method;

// What gRPC's server wrote for a stream it cancelled (the relayed streams got it so).
constexpr const char* kCancelled = "Cancelled";

// The stream's state, on the loop's thread (the door's answers and cancel() reach it by
// posting); shared by its handler and the tasks posted for it.
class KeepAlive final : public KeepAliveStreams::Stream,
                        public std::enable_shared_from_this<KeepAlive> {
 public:
  KeepAlive(Loop& loop, StreamRef ref, std::shared_ptr<UnaryServices> services,
            const Series* series)
      : loop_(loop),
        mailbox_(loop.mailbox()),
        ref_(ref),
        services_(std::move(services)),
        series_(series),
        // One door per stream: its requests meet the same path, in order.
        door_(services_->doors->next()) {
    if (series_) series_->started->Increment();
  }

  void cancel() override {
    Loop::post(mailbox_, [self = shared_from_this()](Loop& loop) { self->cancel_now(loop); });
  }

  // -- on the loop's thread

  void cancel_now(Loop& loop) {
    end(loop, static_cast<int>(grpc::StatusCode::CANCELLED), kCancelled);
  }

  // Ends the stream DeadlineExceeded once the call's grpc-timeout has passed.
  void expire_after(std::chrono::nanoseconds timeout) {
    deadline_ = loop_.run_after(timeout, [weak = weak_from_this()](Loop& loop) {
      if (auto self = weak.lock()) {
        self->deadline_ = {};
        self->end(loop, static_cast<int>(grpc::StatusCode::DEADLINE_EXCEEDED),
                  "context deadline exceeded");
      }
    });
  }

  // -- StreamHandler's, on the loop's thread

  bool take(Loop& loop, std::string message, size_t wire) {
    if (!open_) return false;
    waiting_.emplace_back(std::move(message), wire);
    next(loop);
    return true;
  }

  void half_closed(Loop& loop) {
    half_closed_ = true;
    next(loop);
  }

  void drained(Loop& loop) { next(loop); }

  // The stream ended by the client's or the loop's doing (`code`: how it counts), or its
  // handler is going (nullopt).
  void gone(std::optional<int> code) {
    if (!open_) return;
    open_ = false;
    loop_.cancel_timer(deadline_);
    if (code) count_handled(*code);
  }

 private:
  struct Outcome {
    int code = 0;
    std::string message;
    std::string bytes;
  };

  // Takes the next request if none is in flight and the client reads its answers; ends the
  // stream OK once the client closed its side and everything it sent was answered.
  void next(Loop& loop) {
    if (!open_ || in_flight_) return;
    if (waiting_.empty()) {
      if (half_closed_) end(loop, 0, {});
      return;
    }
    if (!loop.may_send_more(ref_)) return loop.wait_to_send(ref_);
    auto [message, wire] = std::move(waiting_.front());
    waiting_.pop_front();
    etcdserverpb::LeaseKeepAliveRequest parsed;
    if (!parsed.ParseFromString(message))
      return end(loop, static_cast<int>(grpc::StatusCode::INTERNAL), kUnparsableStreamMessage);
    if (series_) series_->msg_received->Increment();
    in_flight_ = true;
    in_flight_wire_ = wire;
    auto call = std::make_shared<Call>();
    call->request = from_proto(parsed);
    call->done = [mailbox = mailbox_, self = shared_from_this(),
                  services = services_](actors::Answer answer) {
      etcdserverpb::LeaseKeepAliveResponse response;
      auto status = fill_response(*services->ctx, std::move(answer), response);
      Outcome outcome{static_cast<int>(status.error_code()), status.error_message(),
                      status.ok() ? response.SerializeAsString() : std::string()};
      Loop::post(mailbox, [self, outcome = std::move(outcome)](Loop& loop) mutable {
        self->answered(loop, std::move(outcome));
      });
      services->in_flight.done();
    };
    services_->in_flight.add();
    Doors::submit_to(door_, std::move(call));
  }

  void answered(Loop& loop, Outcome outcome) {
    in_flight_ = false;
    if (!open_) return;
    // The request was handled: the client may send that much more.
    loop.release(ref_, std::exchange(in_flight_wire_, 0));
    // etcd ends the stream with an error answer's status.
    if (outcome.code != 0) return end(loop, outcome.code, outcome.message);
    loop.send(ref_, outcome.bytes);
    if (series_) series_->msg_sent->Increment();
    next(loop);
  }

  void end(Loop& loop, int code, std::string_view message) {
    if (!open_) return;
    open_ = false;
    loop.cancel_timer(deadline_);
    count_handled(code);
    loop.finish(ref_, code, message);
  }

  void count_handled(int code) {
    if (series_) series_->handled_with(code);
  }

  Loop& loop_;  // outlives its handlers: the stream ends (gone) before it does
  const Loop::MailboxPtr mailbox_;
  const StreamRef ref_;
  const std::shared_ptr<UnaryServices> services_;
  Loop::TimerId deadline_;  // none, or the grpc-timeout's
  const Series* const series_;
  const caf::actor door_;
  bool open_ = true;
  bool in_flight_ = false;
  bool half_closed_ = false;
  size_t in_flight_wire_ = 0;
  // Requests not taken yet, and the bytes each took on the wire (held against the window).
  std::deque<std::pair<std::string, size_t>> waiting_;
};

class KeepAliveStream final : public StreamHandler {
 public:
  KeepAliveStream(Loop& loop, std::shared_ptr<KeepAlive> state, KeepAliveStreams& streams)
      : loop_(loop), state_(std::move(state)), streams_(streams) {}
  ~KeepAliveStream() override {
    state_->gone(std::nullopt);
    streams_.closed(state_);
  }
  KeepAliveStream(const KeepAliveStream&) = delete;
  KeepAliveStream& operator=(const KeepAliveStream&) = delete;

  bool on_message(std::string message, size_t wire) override {
    return state_->take(loop_, std::move(message), wire);
  }
  void on_half_close() override { state_->half_closed(loop_); }
  void on_abandoned() override { state_->gone(static_cast<int>(grpc::StatusCode::CANCELLED)); }
  void on_refused(int code) override { state_->gone(code); }
  void on_drained() override { state_->drained(loop_); }

 private:
  Loop& loop_;
  std::shared_ptr<KeepAlive> state_;
  KeepAliveStreams& streams_;
};

}  // namespace

std::unique_ptr<StreamHandler> serve_keepalive(Loop& loop, StreamRef ref,
                                               std::optional<std::chrono::nanoseconds> timeout,
                                               std::shared_ptr<UnaryServices> services,
                                               KeepAliveStreams& streams, const Series* series) {
  auto state = std::make_shared<KeepAlive>(loop, ref, std::move(services), series);
  // While the server stops, a new stream is cancelled at once, as gRPC's server does: it
  // takes no request.
  if (!streams.opened(state)) {
    state->cancel_now(loop);
  } else if (timeout) {
    state->expire_after(*timeout);
  }
  return std::make_unique<KeepAliveStream>(loop, std::move(state), streams);
}

}  // namespace revkv::etcdapi::h2
