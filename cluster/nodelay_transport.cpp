#include "cluster/nodelay_transport.hpp"

#include <spdlog/spdlog.h>

#include <cstring>
#include <memory>
#include <new>
#include <stdexcept>

namespace revkv::cluster {

namespace {

// One connect request of libraft's, carried through the inner transport.
struct Dial {
  raft_uv_connect inner{};  // handed to raft_uv_tcp; inner.data points back here
  raft_uv_connect* outer = nullptr;
  raft_uv_connect_cb cb = nullptr;
};

}  // namespace

NoDelayTcpTransport::NoDelayTcpTransport(raft_uv_transport* outer, uv_loop_t* loop)
    : outer_(outer) {
  int rv = raft_uv_tcp_init(&inner_, loop);
  if (rv != 0) throw std::runtime_error(std::string("raft transport: ") + raft_strerror(rv));
  inner_ready_ = true;
  inner_.data = this;
  outer_->impl = this;
  outer_->init = &NoDelayTcpTransport::init;
  outer_->listen = &NoDelayTcpTransport::listen;
  outer_->connect = &NoDelayTcpTransport::connect;
  outer_->close = &NoDelayTcpTransport::close;
}

NoDelayTcpTransport::~NoDelayTcpTransport() {
  release();
}

int NoDelayTcpTransport::set_bind_address(const std::string& address) {
  return pass_error(raft_uv_tcp_set_bind_address(&inner_, address.c_str()));
}

void NoDelayTcpTransport::release() {
  if (!inner_ready_) return;
  inner_ready_ = false;
  raft_uv_tcp_close(&inner_);
}

bool NoDelayTcpTransport::no_delay(uv_stream_t* stream) {
  if (stream == nullptr || stream->type != UV_TCP) return true;
  return uv_tcp_nodelay(reinterpret_cast<uv_tcp_t*>(stream), 1) == 0;
}

NoDelayTcpTransport* NoDelayTcpTransport::of(raft_uv_transport* t) {
  return static_cast<NoDelayTcpTransport*>(t->impl);
}

int NoDelayTcpTransport::pass_error(int rv) {
  if (rv != 0) {
    std::memcpy(outer_->errmsg, inner_.errmsg, sizeof outer_->errmsg);
    outer_->errmsg[sizeof outer_->errmsg - 1] = '\0';
  }
  return rv;
}

int NoDelayTcpTransport::init(raft_uv_transport* t, raft_id id, const char* address) {
  auto* self = of(t);
  return self->pass_error(self->inner_.init(&self->inner_, id, address));
}

int NoDelayTcpTransport::listen(raft_uv_transport* t, raft_uv_accept_cb cb) {
  auto* self = of(t);
  self->accept_cb_ = cb;
  return self->pass_error(self->inner_.listen(&self->inner_, &NoDelayTcpTransport::accepted));
}

int NoDelayTcpTransport::connect(raft_uv_transport* t, raft_uv_connect* req, raft_id id,
                                 const char* address, raft_uv_connect_cb cb) {
  auto* self = of(t);
  std::unique_ptr<Dial> dial;
  try {
    dial = std::make_unique<Dial>();
  } catch (const std::bad_alloc&) {
    return RAFT_NOMEM;  // called from libraft's C code: nothing may propagate
  }
  dial->inner.data = dial.get();
  dial->outer = req;
  dial->cb = cb;
  req->cb = cb;  // as raft_uv_tcp does with the request it is given
  int rv = self->inner_.connect(&self->inner_, &dial->inner, id, address,
                                &NoDelayTcpTransport::connected);
  // On success raft_uv_tcp calls connected() exactly once (with RAFT_CANCELED when the
  // transport closes first), which takes the request back.
  if (rv == 0) (void)dial.release();
  return self->pass_error(rv);
}

void NoDelayTcpTransport::close(raft_uv_transport* t, raft_uv_transport_close_cb cb) {
  auto* self = of(t);
  self->close_cb_ = cb;
  self->inner_.close(&self->inner_, [](raft_uv_transport* inner) {
    auto* self = static_cast<NoDelayTcpTransport*>(inner->data);
    if (self->close_cb_ != nullptr) self->close_cb_(self->outer_);
  });
}

void NoDelayTcpTransport::accepted(raft_uv_transport* inner, raft_id id, const char* address,
                                   uv_stream_t* stream) {
  auto* self = static_cast<NoDelayTcpTransport*>(inner->data);
  if (!no_delay(stream)) spdlog::warn("cluster: cannot set TCP_NODELAY on a peer connection");
  self->accept_cb_(self->outer_, id, address, stream);
}

void NoDelayTcpTransport::connected(raft_uv_connect* req, uv_stream_t* stream, int status) {
  std::unique_ptr<Dial> dial(static_cast<Dial*>(req->data));
  if (status == 0 && !no_delay(stream))
    spdlog::warn("cluster: cannot set TCP_NODELAY on a peer connection");
  dial->cb(dial->outer, stream, status);
}

}  // namespace revkv::cluster
