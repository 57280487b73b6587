#include "tests/node/watch_clients.hpp"

#include "etcdapi/convert.hpp"

#include <stdexcept>

namespace revkv::testing {

using namespace std::chrono_literals;

namespace {
// A hung node fails the test, never hangs it.
constexpr auto kAnswerDeadline = 60s;
}  // namespace

bool answers(const protocol::WatchRequest& request, const protocol::WatchResponse& response) {
  if (std::holds_alternative<protocol::WatchCreateRequest>(request.request))
    return response.created;
  if (const auto* c = std::get_if<protocol::WatchCancelRequest>(&request.request))
    // Not a compaction's cancellation of that watcher (compact_revision set), which may
    // come first.
    return response.canceled && !response.created && response.watch_id == c->watch_id &&
           response.compact_revision == 0 && response.events.empty();
  return response.watch_id == -1 && !response.created && !response.canceled &&
         response.events.empty();
}

// ---- MessagePack

MsgpackWatchStream::MsgpackWatchStream(const std::string& endpoint) {
  client::ClientOptions options;
  options.request_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(kAnswerDeadline);
  auto c = client::Client::connect(endpoint, options);
  if (!c.ok()) throw std::runtime_error("connect " + endpoint + ": " + c.error().message);
  client_ = std::make_unique<client::Client>(std::move(c).value());
}

void MsgpackWatchStream::set_handler(WatchHandler handler) {
  client_->set_notification_handler([handler = std::move(handler)](const client::Notification& n) {
    auto w = client::decode_watch_notification(n);
    if (!w.ok()) throw std::runtime_error("undecodable watch notification");
    handler(std::move(w).value());
  });
}

client::Result<protocol::WatchResponse> MsgpackWatchStream::watch(
    const protocol::WatchRequest& request) {
  return client_->watch(request);
}

client::Result<bool> MsgpackWatchStream::pump_for(std::chrono::milliseconds timeout) {
  return client_->pump_for(timeout);
}

// ---- gRPC

GrpcWatchStream::GrpcWatchStream(const std::string& endpoint)
    : stub_(etcdserverpb::Watch::NewStub(
          grpc::CreateChannel(endpoint, grpc::InsecureChannelCredentials()))) {
  stream_ = stub_->Watch(&context_);
  reader_ = std::thread([this] { read_loop(); });
}

GrpcWatchStream::~GrpcWatchStream() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    paused_ = false;
  }
  cv_.notify_all();
  context_.TryCancel();
  reader_.join();
}

void GrpcWatchStream::read_loop() {
  etcdserverpb::WatchResponse in;
  for (;;) {
    {
      std::unique_lock lock(mu_);
      // Stopping: the call is cancelled, so this Read fails and Finish ends the call.
      cv_.wait(lock, [this] { return !paused_ || stopping_; });
    }
    if (!stream_->Read(&in)) {
      // The server is done (or the call was cancelled): its status, then no more reads.
      auto status = stream_->Finish();
      std::lock_guard lock(mu_);
      status_ = std::move(status);
      break;
    }
    auto response = etcdapi::from_proto(in);
    {
      std::lock_guard lock(mu_);
      inbox_.push_back(std::move(response));
    }
    cv_.notify_all();
  }
  std::lock_guard lock(mu_);
  ended_ = true;
  cv_.notify_all();
}

void GrpcWatchStream::pause() {
  std::lock_guard lock(mu_);
  paused_ = true;
}

void GrpcWatchStream::resume() {
  {
    std::lock_guard lock(mu_);
    paused_ = false;
  }
  cv_.notify_all();
}

grpc::Status GrpcWatchStream::final_status() {
  std::lock_guard lock(mu_);
  return status_;
}

void GrpcWatchStream::close_send() {
  stream_->WritesDone();
}

client::Result<std::optional<protocol::WatchResponse>> GrpcWatchStream::next(
    std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, timeout, [this] { return !inbox_.empty() || ended_; });
  if (!inbox_.empty()) {
    auto r = std::move(inbox_.front());
    inbox_.pop_front();
    return std::optional<protocol::WatchResponse>(std::move(r));
  }
  if (ended_) return protocol::WireError{14, "watch stream ended"};
  return std::optional<protocol::WatchResponse>();
}

client::Result<protocol::WatchResponse> GrpcWatchStream::watch(
    const protocol::WatchRequest& request) {
  etcdserverpb::WatchRequest out;
  etcdapi::to_proto(request, out);
  if (!stream_->Write(out)) return protocol::WireError{14, "watch stream write failed"};
  auto deadline = std::chrono::steady_clock::now() + kAnswerDeadline;
  while (std::chrono::steady_clock::now() < deadline) {
    auto got = next(1s);
    if (!got.ok()) return got.error();
    if (!got.value()) continue;
    if (answers(request, *got.value())) return std::move(*got.value());
    if (handler_) handler_(std::move(*got.value()));
  }
  return protocol::WireError{4, "no answer to the watch request"};
}

bool GrpcWatchStream::send(const protocol::WatchRequest& request) {
  etcdserverpb::WatchRequest out;
  etcdapi::to_proto(request, out);
  return stream_->Write(out);
}

client::Result<bool> GrpcWatchStream::pump_for(std::chrono::milliseconds timeout) {
  auto got = next(timeout);
  if (!got.ok()) return got.error();
  if (!got.value()) return false;
  if (handler_) handler_(std::move(*got.value()));
  // Whatever else has arrived already, as the MessagePack client drains its buffer.
  for (;;) {
    auto more = next(0ms);
    if (!more.ok() || !more.value()) break;
    if (handler_) handler_(std::move(*more.value()));
  }
  return true;
}

}  // namespace revkv::testing
