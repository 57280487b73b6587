#include "actors/msgpack_door.hpp"

#include "actors/auth_runner.hpp"
#include "actors/leadership_drain.hpp"
#include "actors/messages.hpp"
#include "actors/methods.hpp"
#include "actors/msgpack_answer.hpp"
#include "actors/msgpack_auth.hpp"
#include "actors/msgpack_cluster.hpp"
#include "actors/request_path.hpp"
#include "protocol/auth_method.hpp"
#include "protocol/cluster_method.hpp"
#include "protocol/codec.hpp"
#include "protocol/frame.hpp"
#include "protocol/method.hpp"
#include "util/unique_fd.hpp"

#include <caf/all.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <memory>
#include <sys/ioctl.h>
#include <sys/socket.h>

namespace revkv::actors {
namespace {

constexpr uint64_t kMaxUnsentBytes = 8ull << 20;

// The encoded answer of a Cluster.* call (actors/msgpack_cluster.hpp), from whichever thread
// finished it.
using cluster_reply_atom = caf::atom_constant<caf::atom("clreply")>;

class MsgpackDoor : public caf::event_based_actor, public DoorSink {
 public:
  MsgpackDoor(caf::actor_config& cfg, NodeContextPtr ctx, Routes routes, caf::actor broker,
              int socket, std::optional<std::string> certificate_cn)
      : caf::event_based_actor(cfg),
        ctx_(std::move(ctx)),
        certificate_cn_(std::move(certificate_cn)),
        broker_(std::move(broker)),
        socket_(socket),
        direct_(socket_.valid()),
        metrics_(ctx_->metrics.get()),
        decoder_(limits(*ctx_)),
        auth_runner_(routes.auth),
        path_(std::make_unique<RequestPath>(this, ctx_, std::move(routes), *this)) {
    // This connection's reads go to the shards in turns (RequestPath::ReadTurns); a Range
    // refused over the unsent bound is the same bound that stops this door reading.
    path_->take_reads_in_turns(
        {std::max<size_t>(1, ctx_->options.reads_in_flight_per_connection), kMaxUnsentBytes});
  }

  const char* name() const override { return "msgpack_door"; }

  caf::behavior make_behavior() override {
    caf::message_handler own{
        [this](bytes_atom, std::vector<char>& data) {
          if (closing_) return;
          // While over the limit the broker may still deliver what it had read: it waits
          // here, undecoded, until update_reading() takes it.
          decoder_.feed(std::string_view(data.data(), data.size()));
          end_of_turn();
        },
        [this](sent_atom, uint64_t acked) {
          bytes_acked_ = acked;
          // The broker holds nothing more: writing directly keeps the byte order.
          if (bytes_acked_ == bytes_out_ && socket_.valid()) direct_ = true;
          path_->output_drained();
          end_of_turn();
          release_when_written();
        },
        [this](out_flush_atom) {
          flush_out();
          after_flush();
          end_of_turn();
          release_when_written();
        },
        [this](shutdown_atom) {
          draining_ = true;
          pause_reading();
          end_of_turn();
        },
        [this](cluster_reply_atom, const std::string& frame) {
          --cluster_pending_;
          if (!closed_) out_.write(frame.data(), frame.size());
          end_of_turn();
        },
        [this](node_failed_atom, const std::string& reason) {
          path_->fail(unavailable(reason));
          end_of_turn();
        },
        [this](leader_lost_atom, DrainHoldPtr& hold) {
          // Everything waiting, and everything still to come, is answered with etcd's
          // error; the hold goes once the socket took those answers.
          path_->fail(leader_changed_error());
          drain_hold_ = std::move(hold);
          end_of_turn();
          release_when_written();
        },
    };
    return own.or_else(path_->handlers());
  }

  void on_exit() override {
    drain_hold_.reset();
    path_.reset();
    broker_ = nullptr;
    socket_.reset();
  }

  // -- DoorSink ---------------------------------------------------------------------------------

  void answer(uint64_t id, protocol::Method, Answer answer) override {
    write_answer(out_, static_cast<uint32_t>(id), answer, *ctx_);
  }

  void watch_response(protocol::WatchResponse response) override {
    write_watch_notification(out_, response);
  }

  void snapshot_chunk(uint64_t id, std::string_view blob, uint64_t remaining) override {
    write_snapshot_chunk(out_, static_cast<uint32_t>(id), blob, remaining);
  }

  uint64_t unsent_bytes() const override { return bytes_out_ + out_.size() - bytes_acked_; }

  // Output written during this turn leaves now when nothing else waits in the mailbox (one
  // request in flight: no extra hop), else after the messages already queued (many
  // answers, one message to the broker).
  void end_of_turn() override {
    flush_turn();
    release_when_written();
  }

 private:
  void flush_turn() {
    if (closed_) return;
    close_if_drained();
    update_reading();  // fewer requests pending: buffered frames may be taken now
    if (out_.size() == 0 && !close_requested_) return;
    if (!mailbox().empty()) return schedule_flush();
    flush_out();
    after_flush();
    // Reading paused above for this turn's output may resume now: when the socket took it
    // all directly, no report of the broker's (sent_atom) will come to resume it.
    if (!reading_ && !closed_) {
      update_reading();
      if (out_.size() > 0) schedule_flush();
    }
  }

  static protocol::FrameLimits limits(const NodeContext& ctx) {
    protocol::FrameLimits l;
    l.max_request_bytes = ctx.options.max_request_bytes;
    return l;
  }

  bool over_limit() const {
    return path_->pending() + cluster_pending_ >= ctx_->options.max_inflight_per_connection ||
           unsent_bytes() > kMaxUnsentBytes;
  }

  void schedule_flush() {
    if (flush_scheduled_) return;
    flush_scheduled_ = true;
    send(this, out_flush_atom::value);
  }

  // Everything answered since the last flush, in one message to the broker.
  void flush_out() {
    flush_scheduled_ = false;
    if (closed_ || !broker_) return;
    if (out_.size() > 0) {
      if (metrics_) metrics_->bytes_sent(out_.size());
      size_t taken = direct_ ? write_direct(out_.data(), out_.size()) : 0;
      if (taken < out_.size()) {
        std::vector<char> bytes(out_.data() + taken, out_.data() + out_.size());
        bytes_out_ += bytes.size();
        send(broker_, bytes_atom::value, std::move(bytes));
      }
      out_.clear();
    }
    if (close_requested_) {
      closed_ = true;
      send(broker_, close_atom::value);
    }
  }

  // What the socket took directly is sent, and no report of the broker's will say so: the
  // path may release what waited for the output to drain (parked watchers, the rest of a
  // snapshot) now.
  void after_flush() {
    if (closed_) return;
    path_->output_drained();
    if (out_.size() > 0) schedule_flush();
  }

  // Writes what the socket takes now, on this (scheduler) thread; the rest goes through
  // the broker, and so does everything after it until the broker reports it has sent all
  // it holds (sent_atom). A failed socket (the peer is gone) takes everything: the broker
  // sees the close.
  size_t write_direct(const char* data, size_t size) {
    size_t done = 0;
    while (done < size) {
      ssize_t n = ::send(socket_.get(), data + done, size - done, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0) {
        done += static_cast<size_t>(n);
      } else if (n < 0 && errno == EINTR) {
        continue;
      } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        direct_ = false;
        return done;
      } else {
        direct_ = false;
        return size;
      }
    }
    return done;
  }

  // A leadership drain (actors/leadership_drain.hpp) waits for this door until the socket
  // took every answer written so far, or the connection is gone; and until the requests
  // already in the socket, or on their way here, are answered too (`leader changed`): a
  // request the client sent before the member learned it lost leadership is answered, not
  // cut by the restart. The drain's bound (kDrainBound) caps a client that keeps sending.
  void release_when_written() {
    if (!drain_hold_) return;
    if (closed_ || (out_.size() == 0 && unsent_bytes() == 0 && !input_waiting()))
      drain_hold_.reset();
  }

  // Bytes the client sent that this door has not taken yet: in the kernel, or in a message
  // from the broker (any message still queued here ends its turn here, which looks again).
  bool input_waiting() {
    if (!mailbox().empty()) return true;
    int unread = 0;
    return reading_ && socket_.valid() && ::ioctl(socket_.get(), FIONREAD, &unread) == 0 &&
           unread > 0;
  }

  // The close follows the last bytes (end_of_turn).
  void close_connection() {
    if (closing_) return;
    closing_ = true;
    close_requested_ = true;
  }

  void close_if_drained() {
    if (draining_ && path_->idle() && cluster_pending_ == 0) close_connection();
  }

  void pause_reading() {
    if (!reading_) return;
    reading_ = false;
    send(broker_, read_atom::value, false);
  }

  // Decodes what the limits allow, then stops or resumes reading the socket.
  void update_reading() {
    if (closing_) return;
    if (!draining_) process_input();
    if (closing_) return;
    bool over = over_limit();
    if (over) {
      pause_reading();
    } else if (!reading_ && !draining_) {
      reading_ = true;
      send(broker_, read_atom::value, true);
    }
  }

  // Decodes and submits received frames while under the limits (one read of 64 KiB can
  // hold thousands of small requests).
  void process_input() {
    if (processing_) return;
    processing_ = true;
    while (!closing_ && !over_limit()) {
      auto frame = decoder_.next();
      if (!frame) break;
      if (auto* req = std::get_if<protocol::RequestFrame>(&*frame)) {
        on_request(*req);
      } else {
        auto& err = std::get<protocol::FrameError>(*frame);
        protocol::write_error(out_, err.msgid, err.error);
        if (err.close) break;
      }
    }
    processing_ = false;
    if (decoder_.closed()) close_connection();
  }

  void on_request(protocol::RequestFrame& frame) {
    // Auth.* calls are answered outside the request path (as on the gRPC door): not ordered
    // with this connection's earlier KV requests. The node's auth runner hashes passwords
    // off the scheduler's threads (actors/auth_runner.hpp); its answers come in order.
    if (protocol::auth_method_from_name(frame.method) && auth_runner_) {
      const uint32_t msgid = frame.msgid;
      auto call = std::make_shared<AuthCall>(AuthCall{std::move(frame), certificate_cn_});
      ++cluster_pending_;
      request(auth_runner_, caf::infinite, auth_call_atom::value, std::move(call))
          .then(
              [this](std::string& answer) {
                --cluster_pending_;
                if (!closed_) out_.write(answer.data(), answer.size());
                end_of_turn();
              },
              [this, msgid](caf::error& error) {
                --cluster_pending_;
                if (!closed_)
                  protocol::write_error(
                      out_, msgid,
                      unavailable("the auth runner is gone: " + home_system().render(error)));
                end_of_turn();
              });
      return;
    }
    if (serve_auth_call(out_, *ctx_, frame, certificate_cn_)) return;
    // Cluster.* calls (and Maintenance.MoveLeader) likewise, but answered when they finish
    // (a change commits through the Raft log): the answer comes back as a message.
    if (protocol::cluster_method_from_name(frame.method)) {
      auto self = caf::actor_cast<caf::actor>(this);
      serve_cluster_call(ctx_, frame, certificate_cn_, [self](std::string answer) {
        caf::anon_send(self, cluster_reply_atom::value, std::move(answer));
      });
      ++cluster_pending_;
      return;
    }
    auto method = protocol::method_from_name(frame.method);
    if (!method) {
      protocol::write_error(out_, frame.msgid, protocol::unknown_method(frame.method));
      return;
    }
    auto received =
        metrics_ ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point{};
    visit_method(*method, [&](auto request_type, bool) {
      using T = typename decltype(request_type)::type;
      auto decoded = protocol::decode_body<T>(frame.body);
      if (!decoded.ok()) {
        if (metrics_) metrics_->request_done(*method, decoded.error().code, 0);
        protocol::write_error(out_, frame.msgid, decoded.error());
        return;
      }
      // The path tells requests apart by id: a client may reuse a msgid while the first
      // is in flight (the protocol leaves that to it), so the id is a count of this
      // connection's requests above the msgid, which answers carry (its low 32 bits).
      const uint64_t id = (++submitted_ << 32) | frame.msgid;
      path_->submit(id, Request{std::move(decoded).value()}, received,
                    caller_of(*ctx_, frame, certificate_cn_));
    });
  }

  NodeContextPtr ctx_;
  // The verified client certificate's CN (TLS with --client-cert-auth): who a request
  // without a token is, as on the gRPC door.
  std::optional<std::string> certificate_cn_;
  caf::actor broker_;
  // A duplicate of the connection's socket: answers are written from here, not from CAF's
  // I/O thread (docs/NODE.md "The request path"). Closed when the door ends, so its number
  // cannot be reused for another connection while the door still writes.
  util::UniqueFd socket_;
  bool direct_;  // writing directly: the broker holds no unsent bytes
  ::revkv::metrics::NodeMetrics* metrics_;
  protocol::FrameDecoder decoder_;
  caf::actor auth_runner_;  // Routes::auth
  std::unique_ptr<RequestPath> path_;
  msgpack::sbuffer out_;      // encoded, not yet handed to the broker
  uint64_t bytes_out_ = 0;    // handed to the broker
  uint64_t bytes_acked_ = 0;  // taken by the socket
  bool flush_scheduled_ = false;
  // Cluster.* and Auth.* calls started and not answered yet (each counts as in flight).
  size_t cluster_pending_ = 0;
  uint64_t submitted_ = 0;  // requests handed to the path, for their ids
  bool reading_ = true;
  bool processing_ = false;  // in process_input(): a nested call returns at once
  bool draining_ = false;    // node shutdown: finish what is in flight, then close
  bool closing_ = false;
  bool close_requested_ = false;
  bool closed_ = false;      // the close was sent: nothing more leaves
  DrainHoldPtr drain_hold_;  // a leadership drain waits for this door's answers
};

}  // namespace

caf::actor spawn_msgpack_door(caf::actor_system& sys, NodeContextPtr ctx, Routes routes,
                              caf::actor broker, int socket,
                              std::optional<std::string> certificate_cn) {
  return sys.spawn<MsgpackDoor>(std::move(ctx), std::move(routes), std::move(broker), socket,
                                std::move(certificate_cn));
}

}  // namespace revkv::actors
