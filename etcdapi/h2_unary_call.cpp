#include "etcdapi/h2_unary_call.hpp"

#include "etcdapi/auth_token.hpp"
#include "etcdapi/convert.hpp"
#include "etcdapi/grpc_door.hpp"
#include "etcdapi/h2_caller.hpp"
#include "etcdapi/range_response_bytes.hpp"
#include "etcdapi/status_interceptor.hpp"
#include "etcdapi/unary_call.hpp"

#include <array>
#include <etcdserverpb/rpc.pb.h>
#include <utility>

namespace revkv::etcdapi::h2 {

namespace {

using Series = metrics::GrpcServerMetrics::Method;

// A finished answer: gRPC's status and, when OK, the response's bytes.
struct Outcome {
  int code = 0;
  std::string message;
  std::string bytes;
};

Outcome outcome_of(const grpc::Status& status, std::string bytes = {}) {
  return {static_cast<int>(status.error_code()), status.error_message(),
          status.ok() ? std::move(bytes) : std::string()};
}

template <class ProtoRequest>
std::optional<actors::Request> parse(const std::string& message) {
  ProtoRequest parsed;
  if (!parsed.ParseFromString(message)) return std::nullopt;
  return actors::Request(from_proto(parsed));
}

template <class ProtoResponse>
Outcome encode(const actors::NodeContext& ctx, actors::Answer&& answer) {
  ProtoResponse response;
  auto status = fill_response(ctx, std::move(answer), response);
  return outcome_of(status, status.ok() ? response.SerializeAsString() : std::string());
}

// A Range's answer: its bytes are written without a protobuf message (range_response_bytes).
Outcome encode_range(const actors::NodeContext& ctx, actors::Answer&& answer) {
  auto* r = std::get_if<actors::Response>(&answer);
  if (!r) return outcome_of(to_status(actors::wire_error(answer)));
  auto* range = std::get_if<storage::RangeResponse>(r);
  if (!range) return outcome_of(wrong_answer_type());
  return {0, {}, range_response_bytes(*range, ctx.header(range->revision))};
}

// How a served method's request is read, and its answer written (on the door actor's
// thread) as the bytes the client gets.
struct Codec {
  std::optional<actors::Request> (*parse)(const std::string& message);
  Outcome (*encode)(const actors::NodeContext& ctx, actors::Answer&& answer);
};

template <class ProtoRequest, class ProtoResponse>
constexpr Codec codec() {
  return {parse<ProtoRequest>, encode<ProtoResponse>};
}

// In UnaryMethod's (and kUnaryMethods') order.
constexpr std::array<Codec, kUnaryMethods.size()> kCodecs{{
    {parse<etcdserverpb::RangeRequest>, encode_range},
    codec<etcdserverpb::PutRequest, etcdserverpb::PutResponse>(),
    codec<etcdserverpb::DeleteRangeRequest, etcdserverpb::DeleteRangeResponse>(),
    codec<etcdserverpb::TxnRequest, etcdserverpb::TxnResponse>(),
    codec<etcdserverpb::CompactionRequest, etcdserverpb::CompactionResponse>(),
    codec<etcdserverpb::LeaseGrantRequest, etcdserverpb::LeaseGrantResponse>(),
    codec<etcdserverpb::LeaseRevokeRequest, etcdserverpb::LeaseRevokeResponse>(),
    codec<etcdserverpb::LeaseTimeToLiveRequest, etcdserverpb::LeaseTimeToLiveResponse>(),
    codec<etcdserverpb::LeaseLeasesRequest, etcdserverpb::LeaseLeasesResponse>(),
}};

const Codec& codec_of(UnaryMethod method) {
  return kCodecs[static_cast<size_t>(method)];
}

// An answer finished during a leadership drain (AnswerLedger::count_finishing), counted
// done when the last copy of the answer's task goes.
class FinishingCount {
 public:
  static std::shared_ptr<FinishingCount> start(const std::shared_ptr<AnswerLedger>& ledger) {
    return ledger->count_finishing() ? std::make_shared<FinishingCount>(ledger) : nullptr;
  }
  explicit FinishingCount(std::shared_ptr<AnswerLedger> ledger) : ledger_(std::move(ledger)) {}
  ~FinishingCount() { ledger_->counted_done(); }
  FinishingCount(const FinishingCount&) = delete;
  FinishingCount& operator=(const FinishingCount&) = delete;

 private:
  std::shared_ptr<AnswerLedger> ledger_;
};

// Whether a call's stream has had its answer: the answer's task and the grpc-timeout's
// timer (both on the loop's thread) each give it only if the other has not.
struct Answered {
  bool yes = false;
  bool handed_on = false;  // the request went to the request path
};

constexpr int kDeadlineExceeded = static_cast<int>(grpc::StatusCode::DEADLINE_EXCEEDED);
constexpr std::string_view kDeadlineExceededMessage = "context deadline exceeded";

class UnaryCall final : public StreamHandler {
 public:
  UnaryCall(Loop& loop, StreamRef ref, RequestHead head, UnaryMethod method,
            std::shared_ptr<UnaryServices> services)
      : loop_(loop),
        ref_(ref),
        head_(std::move(head)),
        method_(method),
        services_(std::move(services)),
        series_(services_->series[static_cast<size_t>(method)]) {
    if (series_) series_->started->Increment();
    // Past its grpc-timeout a call is answered DeadlineExceeded, as gRPC's servers end a
    // call whose deadline passed (a write already handed on may still be applied, as with
    // etcd, whose proposal outlives the caller's context).
    if (head_.timeout) {
      expires_ = std::chrono::steady_clock::now() + *head_.timeout;
      // `this` outlives the timer: the destructor cancels it, both on the loop's thread.
      deadline_ = loop_.run_after(*head_.timeout, [this](Loop&) { expire(); });
    }
  }

  ~UnaryCall() override {
    loop_.cancel_timer(deadline_);
    if (waiting_) services_->in_flight.done();  // a read that never had its turn
  }
  UnaryCall(const UnaryCall&) = delete;
  UnaryCall& operator=(const UnaryCall&) = delete;

  bool on_message(std::string message, size_t wire) override {
    if (++messages_ > 1) return false;  // a unary call has one; the others are dropped
    message_wire_ = wire;
    message_ = std::move(message);
    return true;  // held against the stream's window until the call is handed on
  }

  void on_refused(int code) override {
    answered_->yes = true;
    // Counted as gRPC's server counts a request it could not read.
    if (series_) series_->handled_with(code);
  }

  void on_half_close() override {
    hand_on();
    message_ = std::string();
    // The message was parsed (or refused): its bytes leave the stream's window, unless the
    // read waits for its turn: until then they count against its connection's budget.
    if (!waiting_) loop_.release(ref_, std::exchange(message_wire_, 0));
  }

  void on_turn() override {
    waiting_ = false;
    loop_.release(ref_, std::exchange(message_wire_, 0));
    // The deadline or the connection's unsent answers may have passed their bound since.
    if (refused_before_running()) {
      services_->in_flight.done();
      return loop_.end_read(ref_.connection);
    }
    submit(std::move(waiting_call_));
  }

 private:
  // The grpc-timeout's timer: the call is answered DeadlineExceeded unless it was answered.
  void expire() {
    deadline_ = {};
    if (answered_->yes) return;
    if (waiting_) {  // it leaves the line without a turn
      waiting_ = false;
      waiting_call_.reset();
      services_->in_flight.done();
    }
    // A message read before the deadline leaves the windows, and so does an unfinished one
    // (Loop::finish_unread).
    loop_.release(ref_, std::exchange(message_wire_, 0));
    answered_->yes = true;
    if (series_) {
      if (messages_ > 0) series_->msg_received->Increment();
      series_->handled_with(kDeadlineExceeded);
    }
    loop_.finish_unread(ref_, kDeadlineExceeded, kDeadlineExceededMessage);
  }

  // Whether a call about to run was answered instead: its deadline passed before it could
  // run (grpc-timeout 0, a body slower than its timeout, a long wait for its turn), or its
  // connection has too many answers unsent (etcd's "too many requests").
  bool refused_before_running() {
    if (expires_ && std::chrono::steady_clock::now() >= *expires_) {
      finish_now(
          grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, std::string(kDeadlineExceededMessage)),
          true);
      return true;
    }
    if (loop_.connection_unsent(ref_.connection) > services_->unsent_answer_limit) {
      finish_now(to_status(too_many_requests()), true);
      return true;
    }
    return false;
  }

  void hand_on() {
    if (answered_->yes) return;
    // A unary call has exactly one request message.
    if (messages_ != 1)
      return finish_now(grpc::Status(grpc::StatusCode::INTERNAL, kUnparsableRequest), false);
    auto request = codec_of(method_).parse(message_);
    if (!request)
      return finish_now(grpc::Status(grpc::StatusCode::INTERNAL, kUnparsableRequest), false);
    const auto& ctx = *services_->ctx;
    // etcd refuses a request over --max-request-bytes with its own error.
    if (message_.size() > ctx.options.max_request_bytes)
      return finish_now(to_status(protocol::to_wire_error(storage::Errc::request_too_large)), true);
    if (refused_before_running()) return;
    auto call = std::make_shared<Call>();
    call->request = std::move(*request);
    call->caller = caller_for(ctx, token_of(head_), certificate_cn_of(ctx, head_));
    const bool write = actors::is_write(actors::method_of(call->request));
    call->done = [mailbox = loop_.mailbox(), ref = ref_, write, method = method_,
                  services = services_, series = series_,
                  answered = answered_](actors::Answer answer) {
      auto outcome =
          std::make_shared<Outcome>(codec_of(method).encode(*services->ctx, std::move(answer)));
      // During a leadership drain the answer counts as finishing until its task has run or
      // has been dropped with a closed loop: either way the count goes down.
      auto finishing = FinishingCount::start(services->ledger);
      Loop::post(mailbox, [ref, write, outcome, services, series, finishing, answered](Loop& loop) {
        if (!write) loop.end_read(ref.connection);  // the next read of the connection may go
        if (answered->yes) return;                  // the deadline passed first: counted then
        answered->yes = true;
        if (!loop.stream_unsent(ref)) return;  // reset meanwhile: counted as cancelled
        // A read whose answer comes while the connection is over its bound is refused
        // too; a write's answer is always given (the write was applied).
        if (!write && outcome->code == 0 &&
            loop.connection_unsent(ref.connection) > services->unsent_answer_limit)
          *outcome = outcome_of(to_status(too_many_requests()));
        if (outcome->code == 0) loop.send(ref, outcome->bytes);
        loop.finish(ref, outcome->code, outcome->message);
        if (series) {
          series->msg_received->Increment();
          if (outcome->code == 0) series->msg_sent->Increment();
          series->handled_with(outcome->code);
        }
      });
      services->in_flight.done();
    };
    // Counted from here, a read waiting for its turn too: a stopping server waits for it.
    services_->in_flight.add();
    // A connection's reads go in turns (Loop::begin_read); its writes always go at once.
    if (!write && !loop_.begin_read(ref_)) {
      waiting_ = true;
      waiting_call_ = std::move(call);
      return;
    }
    submit(std::move(call));
  }

  void submit(std::shared_ptr<Call> call) {
    answered_->handed_on = true;
    services_->doors->submit(std::move(call));
  }

 public:
  void on_abandoned() override {
    // The client reset the stream (or the connection went) before its answer.
    answered_->yes = true;
    if (series_) series_->handled_with(static_cast<int>(grpc::StatusCode::CANCELLED));
  }

 private:
  void finish_now(const grpc::Status& status, bool received) {
    answered_->yes = true;
    if (series_) {
      if (received) series_->msg_received->Increment();
      series_->handled_with(static_cast<int>(status.error_code()));
    }
    loop_.finish(ref_, static_cast<int>(status.error_code()), status.error_message());
  }

  Loop& loop_;
  const StreamRef ref_;
  const RequestHead head_;
  const UnaryMethod method_;
  const std::shared_ptr<UnaryServices> services_;
  const Series* series_;
  int messages_ = 0;
  std::string message_;
  size_t message_wire_ = 0;  // its bytes on the wire, held until the call is handed on
  const std::shared_ptr<Answered> answered_ = std::make_shared<Answered>();
  bool waiting_ = false;                // a read waiting for its turn (on_turn)
  std::shared_ptr<Call> waiting_call_;  // what it hands on then
  std::optional<std::chrono::steady_clock::time_point> expires_;  // with a grpc-timeout
  Loop::TimerId deadline_;                                        // none, or its timer
};

}  // namespace

std::optional<UnaryMethod> served_method(std::string_view path) {
  for (size_t i = 0; i < kUnaryMethods.size(); ++i)
    if (kUnaryMethods[i].path == path) return static_cast<UnaryMethod>(i);
  return std::nullopt;
}

std::unique_ptr<StreamHandler> serve_unary(Loop& loop, StreamRef ref, RequestHead head,
                                           UnaryMethod method,
                                           std::shared_ptr<UnaryServices> services) {
  return std::make_unique<UnaryCall>(loop, ref, std::move(head), method, std::move(services));
}

}  // namespace revkv::etcdapi::h2
