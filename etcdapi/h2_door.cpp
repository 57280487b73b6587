#include "etcdapi/h2_door.hpp"

#include "etcdapi/h2_caller.hpp"
#include "etcdapi/h2_watch_call.hpp"

#include <algorithm>
#include <future>
#include <grpcpp/generic/generic_stub.h>
#include <nghttp2/nghttp2.h>

namespace revkv::etcdapi {

namespace {

// The longest one look at the loops (Http2Door::begin_drain's condition) waits for them.
constexpr std::chrono::milliseconds kSettledPoll{100};

// A stream already answered when it opened: what follows on it is ignored.
class Answered final : public h2::StreamHandler {
 public:
  bool on_message(std::string, size_t) override { return false; }
  void on_refused(int) override {}
  void on_half_close() override {}
  void on_abandoned() override {}
};

// grpc-go's test of a path: after its leading '/', a service and a method split by '/'.
bool well_formed(std::string_view path) {
  if (path.starts_with('/')) path.remove_prefix(1);
  return path.find('/') != std::string_view::npos;
}

}  // namespace

Http2Door::Http2Door(std::shared_ptr<grpc::Channel> in_process, actors::NodeContextPtr ctx,
                     Doors& doors, std::shared_ptr<metrics::GrpcServerMetrics> metrics,
                     Options options)
    : stub_(std::make_unique<grpc::GenericStub>(in_process)), watch_(options.watch) {
  unary_->ctx = std::move(ctx);
  unary_->doors = &doors;
  unary_->ledger = doors.shared_answers();
  unary_->unsent_answer_limit = options.unsent_answer_limit;
  unary_->metrics = std::move(metrics);
  if (unary_->metrics) {
    for (size_t i = 0; i < unary_->series.size(); ++i)
      unary_->series[i] =
          &unary_->metrics->add("unary", h2::kUnaryMethods[i].service, h2::kUnaryMethods[i].method);
    watch_series_ = &unary_->metrics->add("bidi_stream", "etcdserverpb.Watch", "Watch");
    keepalive_series_ =
        &unary_->metrics->add("bidi_stream", "etcdserverpb.Lease", "LeaseKeepAlive");
  }
  h2::Loop::Limits limits;
  limits.max_message_bytes = options.max_message_bytes;
  limits.connection_unsent_limit = options.unsent_answer_limit;
  limits.reads_in_flight = static_cast<uint32_t>(
      std::max<size_t>(1, unary_->ctx->options.reads_in_flight_per_connection));
  // The largest message must fit in a stream's window (its bytes are held until whole),
  // even after one whose bytes nghttp2 has not given back yet (it waits for half a window).
  limits.stream_window = static_cast<uint32_t>(
      std::min<size_t>(std::max<size_t>(limits.stream_window, 2 * (options.max_message_bytes + 5)),
                       NGHTTP2_MAX_WINDOW_SIZE));
  limits.connection_window = std::max(limits.connection_window, 2 * limits.stream_window);
  // What a connection's requests may hold: 16 of the largest messages, at least 64 MiB.
  limits.connection_request_budget =
      std::max(limits.connection_request_budget, 16 * (options.max_message_bytes + 5));
  for (size_t i = 0; i < std::max<size_t>(1, options.loops); ++i)
    loops_.push_back(std::make_unique<h2::Loop>(*this, limits));
}

Http2Door::~Http2Door() {
  finish(std::chrono::steady_clock::now());
}

void Http2Door::adopt(int fd) {
  loops_[next_loop_.fetch_add(1, std::memory_order_relaxed) % loops_.size()]->adopt(fd);
}

void Http2Door::refuse_new_streams() {
  for (auto& loop : loops_)
    loop->refuse_new_streams();
}

actors::DrainSignal::Condition Http2Door::begin_drain() {
  std::vector<h2::Loop::MailboxPtr> mailboxes;
  for (const auto& loop : loops_) {
    loop->begin_drain();
    mailboxes.push_back(loop->mailbox());
  }
  return [mailboxes = std::move(mailboxes)](std::chrono::steady_clock::time_point deadline) {
    // One poll waits for a loop's answer no longer than this, so that the drain's own
    // bound is kept.
    const auto bound = std::min(deadline, std::chrono::steady_clock::now() + kSettledPoll);
    return std::all_of(mailboxes.begin(), mailboxes.end(),
                       [bound](const auto& mailbox) { return h2::Loop::settled(mailbox, bound); });
  };
}

void Http2Door::finish(std::chrono::steady_clock::time_point deadline) {
  if (loops_.empty()) return;
  // The doors answer every call in flight; each answer is a task for its loop.
  unary_->in_flight.wait_none(deadline);
  relays_->wait_none(deadline);
  // One more turn of each loop: the answers posted so far are written out.
  for (auto& loop : loops_) {
    auto turned = std::make_shared<std::promise<void>>();
    auto done = turned->get_future();
    h2::Loop::post(loop->mailbox(), [turned](h2::Loop&) { turned->set_value(); });
    done.wait_for(std::max(deadline - std::chrono::steady_clock::now(),
                           std::chrono::steady_clock::duration(std::chrono::milliseconds(100))));
  }
  // Then until their clients have read them: a large answer leaves only as its client's
  // HTTP/2 windows let it, and closing the connection would cut it.
  for (auto& loop : loops_)
    loop->wait_sent(deadline);
  // Closing the connections cancels the relayed calls still open; they end at once.
  loops_.clear();
  relays_->wait_none(std::chrono::steady_clock::now() + std::chrono::seconds(10));
}

std::unique_ptr<h2::StreamHandler> Http2Door::open(h2::Loop& loop, h2::StreamRef ref,
                                                   h2::RequestHead head) {
  if (!well_formed(head.path)) {
    // grpc-go's answer (gRPC's C++ client would refuse to send such a path in-process).
    loop.finish(ref, 12, "malformed method name: \"" + head.path + "\"");
    return std::make_unique<Answered>();
  }
  if (auto method = h2::served_method(head.path))
    return h2::serve_unary(loop, ref, std::move(head), *method, unary_);
  if (watch_ && head.path == h2::kWatchPath)
    return h2::serve_watch(loop, ref, head, *watch_, watch_series_);
  if (head.path == h2::kLeaseKeepAlivePath)
    return h2::serve_keepalive(loop, ref, head.timeout, unary_, keepalives_, keepalive_series_);
  // The CN is looked up now, while the connection (and so its descriptor) is open.
  return h2::relay_call(loop, ref, head, h2::certificate_cn_of(*unary_->ctx, head), *stub_,
                        relays_);
}

}  // namespace revkv::etcdapi
