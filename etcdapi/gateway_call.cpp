#include "etcdapi/gateway_call.hpp"

namespace revkv::etcdapi::gateway {

namespace {

// What a unary call needs alive until its completion runs.
struct UnaryState {
  grpc::ClientContext context;
  grpc::ByteBuffer request;
  grpc::ByteBuffer response;
  CallToken token;
};

}  // namespace

void call_unary(grpc::GenericStub& stub, const char* method, grpc::ByteBuffer request,
                CallToken token, std::string_view authorization,
                std::function<void(grpc::Status, grpc::ByteBuffer)> done) {
  auto state = std::make_shared<UnaryState>();
  if (!authorization.empty())
    state->context.AddMetadata("authorization", std::string(authorization));
  state->request = std::move(request);
  state->token = std::move(token);
  stub.UnaryCall(&state->context, method, grpc::StubOptions(), &state->request, &state->response,
                 [state, done = std::move(done)](grpc::Status status) mutable {
                   done(std::move(status), std::move(state->response));
                 });
}

StreamCall::StreamCall(std::vector<grpc::ByteBuffer> requests, bool close_send, Receiver receiver,
                       CallToken token)
    : requests_(std::make_move_iterator(requests.begin()), std::make_move_iterator(requests.end())),
      close_send_(close_send),
      receiver_(std::move(receiver)),
      token_(std::move(token)) {}

std::shared_ptr<StreamCall> StreamCall::start(grpc::GenericStub& stub, const char* method,
                                              std::vector<grpc::ByteBuffer> requests,
                                              bool close_send, Receiver receiver, CallToken token,
                                              std::string_view authorization) {
  auto call = std::make_shared<StreamCall>(std::move(requests), close_send, std::move(receiver),
                                           std::move(token));
  call->self_ = call;
  // The stream's user: Watch checks it at each create, as etcd's gateway's streams do.
  if (!authorization.empty())
    call->context_.AddMetadata("authorization", std::string(authorization));
  stub.PrepareBidiStreamingCall(&call->context_, method, grpc::StubOptions(), call.get());
  // Released when a read fails or the receiver stops: until then a read may still follow
  // an answer the receiver is writing out, so the call must not end under it.
  call->AddHold();
  call->StartRead(&call->incoming_);
  if (call->requests_.empty()) {
    if (close_send) call->StartWritesDone();
  } else {
    call->writing_ = true;
    call->StartWrite(&call->requests_.front());
  }
  call->StartCall();
  return call;
}

void StreamCall::OnWriteDone(bool ok) {
  std::lock_guard lock(mutex_);
  requests_.pop_front();
  if (!ok) {
    write_failed_ = true;
    writing_ = false;
    return;
  }
  if (!requests_.empty()) return StartWrite(&requests_.front());
  writing_ = false;
  if (close_send_) StartWritesDone();
}

void StreamCall::send(grpc::ByteBuffer request) {
  std::lock_guard lock(mutex_);
  // A failed write means the call is ending (OnDone tells the receiver); after OnDone the
  // reactor takes no more operations.
  if (write_failed_ || finished_) return;
  requests_.push_back(std::move(request));
  if (writing_) return;
  writing_ = true;
  StartWrite(&requests_.front());
}

void StreamCall::OnReadDone(bool ok) {
  if (!ok) return RemoveHold();
  receiver_.message(std::move(incoming_),
                    [self = shared_from_this()](bool more) { self->resume(more); });
}

void StreamCall::resume(bool more) {
  if (more) return StartRead(&incoming_);
  context_.TryCancel();
  RemoveHold();
}

void StreamCall::OnDone(const grpc::Status& status) {
  {
    std::lock_guard lock(mutex_);
    finished_ = true;
  }
  receiver_.done(status);
  // The receiver's callbacks hold the session that holds this call: let go of both.
  receiver_ = {};
  token_.reset();
  // Last: this may be the reactor's final owner.
  auto last = std::move(self_);
}

}  // namespace revkv::etcdapi::gateway
