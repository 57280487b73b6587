#include "etcdapi/h2_loop.hpp"

#include "etcdapi/grpc_compression.hpp"
#include "etcdapi/grpc_wire.hpp"
#include "util/nghttp2_helpers.hpp"
#include "util/unique_fd.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <deque>
#include <fcntl.h>
#include <future>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <new>
#include <nghttp2/nghttp2.h>
#include <poll.h>
#include <stdexcept>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <utility>

namespace revkv::etcdapi::h2 {

namespace {

// epoll tags of the loop's own descriptors; connections take ids from kFirstConnection on.
constexpr uint64_t kMailboxTag = 0, kStopTag = 1, kFirstConnection = 2;
// How long the door's end waits for its clients to close their side.
constexpr auto kLinger = std::chrono::seconds(2);

// etcd's streams that stay open for as long as their clients want: a leadership drain does
// not wait for them (Loop::settled); the restart in place ends them, as etcd's clients
// expect of a member that goes away.
bool is_long_lived(std::string_view path) {
  return path == "/etcdserverpb.Watch/Watch" || path == "/etcdserverpb.Lease/LeaseKeepAlive" ||
         path == "/etcdserverpb.Maintenance/Snapshot";
}

using SessionDeleter = util::Nghttp2SessionDeleter;
using CallbacksDeleter = util::Nghttp2CallbacksDeleter;
constexpr auto header = util::nghttp2_header;

void wake(int fd) {
  const uint64_t one = 1;
  (void)!::write(fd, &one, sizeof one);
}

}  // namespace

bool forwarded_as_metadata(std::string_view name, std::string_view value) {
  // What gRPC accepts as a metadata key and as a text value; it would refuse to start a
  // call with anything else.
  for (char c : name)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.'))
      return false;
  for (char c : value)
    if (c < 0x20 || c > 0x7e) return false;
  if (name.empty()) return false;
  if (name == "te" || name == "content-type" || name == "user-agent") return false;
  if (name.starts_with("grpc-")) return false;
  // Binary metadata is base64 on the wire; none of etcd's clients sends any that matters.
  if (name.ends_with("-bin")) return false;
  // revkv's own in-process metadata (etcdapi/h2_proxy_call.hpp) is never taken from a client.
  return !name.starts_with("revkv-");
}

// --- the mailbox ---

class Loop::Mailbox {
 public:
  Mailbox() : event_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
    if (!event_.valid()) throw std::runtime_error("h2 door: eventfd failed");
  }
  int fd() const { return event_.get(); }
  void post(Task task) {
    bool first = false;
    {
      std::lock_guard lock(mu_);
      if (closed_) return;
      first = tasks_.empty();
      tasks_.push_back(std::move(task));
    }
    if (first) wake(event_.get());
  }
  std::vector<Task> take() {
    uint64_t count = 0;
    (void)!::read(event_.get(), &count, sizeof count);
    std::vector<Task> out;
    std::lock_guard lock(mu_);
    out.swap(tasks_);
    return out;
  }
  // Nothing posted from now on runs; what was queued is dropped.
  std::vector<Task> close() {
    std::lock_guard lock(mu_);
    closed_ = true;
    return std::move(tasks_);
  }

 private:
  util::UniqueFd event_;
  std::mutex mu_;
  std::vector<Task> tasks_;
  bool closed_ = false;
};

void Loop::post(const MailboxPtr& mailbox, Task task) {
  mailbox->post(std::move(task));
}

// --- one connection ---

class Loop::Connection {
 public:
  struct Stream {
    explicit Stream(size_t max_message) : reader(max_message) {}
    RequestHead head;
    size_t header_bytes = 0;
    bool grpc_content_type = false;
    std::optional<std::string> encoding_header;  // the last grpc-encoding header
    GrpcEncoding encoding = GrpcEncoding::identity;
    GrpcMessageReader reader;
    std::unique_ptr<StreamHandler> handler;
    std::string out;  // framed messages not yet taken by nghttp2
    size_t out_taken = 0;
    bool response_started = false;
    bool deferred = false;  // the data provider waits for send() or finish()
    bool finished = false;
    bool closing = false;  // on_stream_close is running
    bool waiting = false;  // in waiting_: its handler hears on_drained
    // Open for as long as its client wants (Watch, LeaseKeepAlive, Snapshot): a
    // leadership drain does not wait for it (Loop::settled).
    bool long_lived = false;
    // DATA bytes not yet given back to the stream's window: the unfinished message's, and
    // `held` of them by the handler. (The connection's window gets every byte back as it
    // arrives; the connection's budget bounds what its streams hold.)
    size_t unconsumed = 0;
    size_t held = 0;
    // A stream with an encoding: each message its handler holds, in order, as (bytes on the
    // wire, bytes its inflating added). What inflating added counts against the connection's
    // budget too, until the handler releases the message.
    std::deque<std::pair<size_t, size_t>> inflated;
    size_t inflated_extra = 0;
    std::string code, message;
    uint64_t unsent() const { return out.size() - out_taken; }
  };

  Connection(Loop& loop, uint64_t id, util::UniqueFd fd)
      : loop_(loop), id_(id), fd_(std::move(fd)) {
    nghttp2_session_callbacks* raw = nullptr;
    if (nghttp2_session_callbacks_new(&raw) != 0) throw std::bad_alloc();
    std::unique_ptr<nghttp2_session_callbacks, CallbacksDeleter> callbacks(raw);
    nghttp2_session_callbacks_set_on_begin_headers_callback(raw, &Connection::on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(raw, &Connection::on_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(raw, &Connection::on_frame_recv);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(raw, &Connection::on_data_chunk);
    nghttp2_session_callbacks_set_on_stream_close_callback(raw, &Connection::on_stream_close);
    nghttp2_session_callbacks_set_on_frame_send_callback(raw, &Connection::on_frame_send);
    // No HTTP semantics checks of the library's own: it would reset a stream whose :path
    // lacks its leading '/' before gRPC's answer to it (Unimplemented, as grpc-go gives)
    // could be written. The door checks what gRPC needs itself (content-type, the path).
    nghttp2_option* option = nullptr;
    if (nghttp2_option_new(&option) != 0) throw std::bad_alloc();
    nghttp2_option_set_no_http_messaging(option, 1);
    // Stream windows reopen only as requests are taken (consume_stream): they bound what
    // each stream holds.
    nghttp2_option_set_no_auto_window_update(option, 1);
    nghttp2_session* session = nullptr;
    const int made = nghttp2_session_server_new2(&session, raw, this, option);
    nghttp2_option_del(option);
    if (made != 0) throw std::bad_alloc();
    session_.reset(session);
    const auto& limits = loop_.limits_;
    nghttp2_settings_entry settings[] = {
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, limits.max_concurrent_streams},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, limits.stream_window},
        {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, static_cast<uint32_t>(limits.max_header_bytes)}};
    nghttp2_submit_settings(session, NGHTTP2_FLAG_NONE, settings, 3);
    nghttp2_session_set_local_window_size(session, NGHTTP2_FLAG_NONE, 0,
                                          static_cast<int32_t>(limits.connection_window));
  }

  ~Connection() {
    // Handlers of streams still open hear that no answer will go out.
    for (auto& [id, stream] : streams_)
      if (stream.handler && !stream.finished) {
        stream.closing = true;
        stream.handler->on_abandoned();
      }
  }

  int fd() const { return fd_.get(); }
  // The socket, for Loop::close's linger; the connection has none after it.
  util::UniqueFd take_fd() { return std::move(fd_); }

  // At the door's end: the output nghttp2 has goes to the socket (as far as it takes it
  // without waiting), then a FIN.
  void close_gracefully() {
    flush();
    ::shutdown(fd_.get(), SHUT_WR);
  }
  uint64_t unsent() const { return unsent_ + out_.size() - out_taken_; }

  // Loop::begin_drain: no new stream from this client, every one it sent still served.
  void shutdown_notice() { nghttp2_submit_shutdown_notice(session_.get()); }

  // Loop::settled: nothing of its client's calls is in the door. Answers still in nghttp2
  // keep their streams open; the bytes of a closed stream's answer are counted as in the
  // socket once everything produced up to its last frame was written.
  bool settled() const {
    if (written_ < answered_through_) return false;
    for (const auto& [id, stream] : streams_)
      if (!stream.long_lived) return false;
    int unread = 0;
    return ::ioctl(fd_.get(), FIONREAD, &unread) != 0 || unread == 0;
  }

  // Reads what the socket has; false once the connection is done with.
  bool receive() {
    char buffer[64 << 10];
    for (int reads = 0; reads < loop_.limits_.reads_per_turn; ++reads) {
      if (paused()) return true;
      const ssize_t n = ::recv(fd_.get(), buffer, sizeof buffer, 0);
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      if (nghttp2_session_mem_recv(session_.get(), reinterpret_cast<uint8_t*>(buffer),
                                   static_cast<size_t>(n)) < 0)
        return false;
      // Answers produced while reading go out between reads.
      if (!flush()) return false;
    }
    return true;  // epoll reports the rest on its next turn
  }

  // Hands nghttp2's output to the socket; false once the connection is done with.
  bool flush() {
    for (;;) {
      bool produced = false;
      while (out_.size() - out_taken_ < loop_.limits_.output_ahead) {
        const uint8_t* data = nullptr;
        const ssize_t n = nghttp2_session_mem_send(session_.get(), &data);
        if (n < 0) return false;
        if (n == 0) break;
        out_.append(reinterpret_cast<const char*>(data), static_cast<size_t>(n));
        produced_ += static_cast<uint64_t>(n);
        produced = true;
        mark_answers_produced();
      }
      mark_answers_produced();  // streams closed while reading: their output is all out
      while (out_taken_ < out_.size()) {
        const ssize_t sent =
            ::send(fd_.get(), out_.data() + out_taken_, out_.size() - out_taken_, MSG_NOSIGNAL);
        if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        if (sent < 0 && errno == EINTR) continue;
        if (sent <= 0) return false;
        out_taken_ += static_cast<size_t>(sent);
        written_ += static_cast<uint64_t>(sent);
      }
      if (out_taken_ == out_.size()) {
        out_.clear();
        out_taken_ = 0;
      } else if (out_taken_ > loop_.limits_.output_ahead) {
        out_.erase(0, out_taken_);
        out_taken_ = 0;
      }
      // Until the socket blocks or nghttp2 has nothing more to write now.
      if (out_taken_ < out_.size() || !produced) break;
    }
    const bool blocked = out_taken_ < out_.size();
    const uint32_t events = (paused() ? 0u : EPOLLIN) | (blocked ? EPOLLOUT : 0u);
    if (events != events_) {
      events_ = events;
      loop_.watch(fd_.get(), id_, events, EPOLL_CTL_MOD);
    }
    // With what went out, waiting handlers may have room again.
    wake_waiting();
    return blocked || nghttp2_session_want_read(session_.get()) ||
           nghttp2_session_want_write(session_.get());
  }

  bool may_send_more(const Stream& s) const {
    return s.unsent() < loop_.limits_.stream_unsent_limit &&
           unsent() < loop_.limits_.connection_unsent_limit;
  }

  void wait_to_send(int32_t id) {
    Stream* s = stream(id);
    if (!s || s->waiting || s->finished || s->closing) return;
    s->waiting = true;
    waiting_.push_back(id);
  }

  // Handlers waiting for room whose stream and connection have it now hear on_drained.
  void wake_waiting() {
    if (waiting_.empty() || unsent() >= loop_.limits_.connection_unsent_limit) return;
    std::vector<int32_t> still;
    for (int32_t id : std::exchange(waiting_, {})) {
      Stream* s = stream(id);
      if (!s || s->finished || s->closing || !s->handler) continue;
      if (!may_send_more(*s)) {
        still.push_back(id);
        continue;
      }
      s->waiting = false;
      s->handler->on_drained();
    }
    waiting_.insert(waiting_.end(), still.begin(), still.end());
  }

  void release(int32_t id, size_t bytes) {
    Stream* s = stream(id);
    if (!s) return;  // given back with the stream
    bytes = std::min(bytes, s->held);
    s->held -= bytes;
    consume(*s, id, bytes);
    // Handlers release whole messages, in order.
    for (size_t wire = bytes; !s->inflated.empty() && s->inflated.front().first <= wire;) {
      wire -= s->inflated.front().first;
      give_back_inflated(*s, s->inflated.front().second);
      s->inflated.pop_front();
    }
  }

  void give_back_inflated(Stream& s, size_t extra) {
    s.inflated_extra -= extra;
    held_ -= extra;
  }

  void goaway() {
    nghttp2_submit_goaway(session_.get(), NGHTTP2_FLAG_NONE,
                          nghttp2_session_get_last_proc_stream_id(session_.get()), NGHTTP2_NO_ERROR,
                          nullptr, 0);
  }

  Stream* stream(int32_t id) {
    auto it = streams_.find(id);
    return it == streams_.end() ? nullptr : &it->second;
  }

  // A handler ends its stream outside the loop's reading (a timer): the bytes of a message
  // the client had not finished go back to the windows too, as nothing reads it any more.
  // (Not from inside on_message: the loop gives that message's bytes back itself.)
  void finish_unread(int32_t id, int code, std::string_view message) {
    Stream* s = stream(id);
    if (!s || s->finished || s->closing) return;
    finish(id, code, message);
    consume(*s, id, s->unconsumed - s->held);
  }

  // Loop::begin_read: a turn now, or a place in the line.
  bool begin_read(int32_t id) {
    if (reads_in_flight_ < loop_.limits_.reads_in_flight) {
      ++reads_in_flight_;
      return true;
    }
    // Ids of streams gone meanwhile are dropped once they could outnumber the open ones.
    if (read_line_.size() >= 2 * static_cast<size_t>(loop_.limits_.max_concurrent_streams))
      std::erase_if(read_line_, [&](int32_t waiting) { return !waits_for_turn(waiting); });
    read_line_.push_back(id);
    return false;
  }

  // Loop::end_read: the turn goes to the first stream in line still waiting for one.
  void end_read() {
    if (reads_in_flight_ > 0) --reads_in_flight_;
    // A read given its turn may end at once (refused before it runs) and call end_read
    // again: that call only counts, and this loop hands the freed turn on, without nesting.
    if (giving_turns_) return;
    giving_turns_ = true;
    while (!read_line_.empty() && reads_in_flight_ < loop_.limits_.reads_in_flight) {
      const int32_t id = read_line_.front();
      read_line_.pop_front();
      if (!waits_for_turn(id)) continue;
      ++reads_in_flight_;
      streams_.at(id).handler->on_turn();
    }
    giving_turns_ = false;
  }

  void send(int32_t id, std::string_view message) {
    Stream* s = stream(id);
    if (!s || s->finished || s->closing) return;
    append_grpc_message(s->out, message);
    unsent_ += message.size() + 5;
    if (!s->response_started) {
      s->response_started = true;
      nghttp2_nv headers[] = {header(":status", "200"), header("content-type", "application/grpc"),
                              header("grpc-accept-encoding", kGrpcAcceptEncoding)};
      nghttp2_data_provider body{};
      body.read_callback = &Connection::read_body;
      if (nghttp2_submit_response(session_.get(), id, headers, 3, &body) != 0) abandon(id);
    } else if (s->deferred) {
      s->deferred = false;
      nghttp2_session_resume_data(session_.get(), id);
    }
  }

  void finish(int32_t id, int code, std::string_view message) {
    Stream* s = stream(id);
    if (!s || s->finished || s->closing) return;
    s->finished = true;
    s->code = std::to_string(code);
    s->message = percent_encode_grpc_message(message);
    if (!s->response_started) {
      // Trailers only: one HEADERS frame that ends the stream.
      s->response_started = true;
      nghttp2_nv headers[] = {header(":status", "200"), header("content-type", "application/grpc"),
                              header("grpc-accept-encoding", kGrpcAcceptEncoding),
                              header("grpc-status", s->code), header("grpc-message", s->message)};
      nghttp2_submit_response(session_.get(), id, headers, s->message.empty() ? 4 : 5, nullptr);
    } else if (s->deferred) {
      s->deferred = false;
      nghttp2_session_resume_data(session_.get(), id);
    }
  }

 private:
  static Connection& of(void* user) { return *static_cast<Connection*>(user); }

  void mark_answers_produced() {
    if (!answer_closed_) return;
    answered_through_ = produced_;
    answer_closed_ = false;
  }

  // The socket does not take what nghttp2 has written: the client is not reading. Its
  // connection is not read either until it does, so that what it sends meanwhile (even
  // calls that would only be refused) is not answered into an ever longer queue.
  bool paused() const { return out_.size() - out_taken_ >= loop_.limits_.output_ahead; }

  // Gives `bytes` of the stream's DATA back to its window (the connection's got them back
  // on arrival).
  void consume(Stream& s, int32_t id, size_t bytes) {
    if (bytes == 0) return;
    s.unconsumed -= bytes;
    held_ -= bytes;
    nghttp2_session_consume_stream(session_.get(), id, bytes);
  }

  // The loop ends a stream itself: its handler hears why, and the unfinished message's
  // bytes go back to the windows (what the handler holds, it still releases).
  void refuse(int32_t id, int code, std::string_view message) {
    Stream* s = stream(id);
    if (!s || s->finished) return;
    finish(id, code, message);
    consume(*s, id, s->unconsumed - s->held);
    if (s->handler) s->handler->on_refused(code);
  }

  // A stream that cannot be answered any more: reset it.
  void abandon(int32_t id) {
    nghttp2_submit_rst_stream(session_.get(), NGHTTP2_FLAG_NONE, id, NGHTTP2_INTERNAL_ERROR);
  }

  static int on_begin_headers(nghttp2_session*, const nghttp2_frame* frame, void* user) {
    auto& c = of(user);
    if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
      auto [it, _] = c.streams_.try_emplace(frame->hd.stream_id, c.loop_.limits_.max_message_bytes);
      it->second.head.fd = c.fd_.get();
    }
    return 0;
  }

  static int on_header(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name_data,
                       size_t name_length, const uint8_t* value_data, size_t value_length, uint8_t,
                       void* user) {
    auto& c = of(user);
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
    Stream* s = c.stream(frame->hd.stream_id);
    if (!s) return 0;
    // Counted as HTTP/2 counts a header list's size; past the limit the stream is reset.
    s->header_bytes += name_length + value_length + 32;
    if (s->header_bytes > c.loop_.limits_.max_header_bytes)
      return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    const std::string_view name(reinterpret_cast<const char*>(name_data), name_length);
    const std::string_view value(reinterpret_cast<const char*>(value_data), value_length);
    if (name == ":path") {
      s->head.path.assign(value);
      // Known from here: a stream refused before it is dispatched counts as what it is.
      s->long_lived = is_long_lived(s->head.path);
    } else if (name == "content-type") {
      s->grpc_content_type = value == "application/grpc" ||
                             value.starts_with("application/grpc+") ||
                             value.starts_with("application/grpc;");
    } else if (name == "grpc-timeout") {
      s->head.timeout = parse_grpc_timeout(value);
    } else if (name == "grpc-encoding") {
      s->encoding_header.emplace(value);  // the last one counts, as in grpc-go
    } else if (forwarded_as_metadata(name, value)) {
      s->head.metadata.emplace_back(name, value);
    }
    return 0;
  }

  static int on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* user) {
    auto& c = of(user);
    const int32_t id = frame->hd.stream_id;
    if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST) c.open(id);
    const bool ended = (frame->hd.type == NGHTTP2_DATA || frame->hd.type == NGHTTP2_HEADERS) &&
                       (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
    if (!ended) return 0;
    Stream* s = c.stream(id);
    if (!s || !s->handler || s->finished) return 0;
    if (s->reader.partial()) {
      c.refuse(id, 13, "grpc: the request stream ended inside a message");  // Internal
      return 0;
    }
    s->handler->on_half_close();
    return 0;
  }

  void open(int32_t id) {
    Stream* s = stream(id);
    if (!s) return;
    if (!s->grpc_content_type) {
      // What grpc-go answers a request that is not gRPC: HTTP 415.
      s->finished = true;
      s->response_started = true;
      nghttp2_nv headers[] = {header(":status", "415"), header("content-type", "text/plain"),
                              header("grpc-status", "13"),
                              header("grpc-message", "invalid gRPC request content-type")};
      nghttp2_submit_response(session_.get(), id, headers, 4, nullptr);
      return;
    }
    if (s->encoding_header) {
      auto encoding = grpc_encoding(*s->encoding_header);
      if (!encoding) {
        // No decompressor: gRPC's answer to an encoding it does not have.
        finish(id, 12,
               "grpc: Decompressor is not installed for grpc-encoding \"" + *s->encoding_header +
                   "\"");
        return;
      }
      s->encoding = *encoding;
      if (*encoding != GrpcEncoding::identity) s->reader.allow_compressed();
    }
    s->handler = loop_.dispatcher_.open(loop_, StreamRef{id_, id}, std::move(s->head));
  }

  static int on_data_chunk(nghttp2_session* session, uint8_t, int32_t id, const uint8_t* data,
                           size_t length, void* user) {
    auto& c = of(user);
    // The connection's window gets every byte back at once: one stream's unfinished
    // message must never hold up the others. What streams hold is bounded by the budget.
    nghttp2_session_consume_connection(session, length);
    Stream* s = c.stream(id);
    if (!s) {
      nghttp2_session_consume_stream(session, id, length);
      return 0;
    }
    s->unconsumed += length;
    c.held_ += length;
    if (!s->handler || s->finished) {
      // Nobody takes it: straight back to the window.
      c.consume(*s, id, length);
      return 0;
    }
    std::vector<GrpcMessage> messages;
    const auto result =
        s->reader.feed(std::string_view(reinterpret_cast<const char*>(data), length), messages);
    for (auto& m : messages) {
      const size_t wire = m.bytes.size() + 5;
      if (s->finished) {
        c.consume(*s, id, wire);
        continue;
      }
      size_t extra = 0;
      if (m.compressed) {
        auto inflated =
            inflate_grpc_message(s->encoding, m.bytes, c.loop_.limits_.max_message_bytes);
        // Refusing gives back the bytes of this message and of those after it.
        if (inflated.code != 0) {
          c.refuse(id, inflated.code, inflated.message);
          break;
        }
        m.bytes = std::move(inflated.bytes);
        extra = m.bytes.size() + 5 > wire ? m.bytes.size() + 5 - wire : 0;
        // What inflating adds is bounded by the connection's budget like bytes on the wire.
        if (c.held_ + extra > c.loop_.limits_.connection_request_budget) {
          c.refuse(id, 8, "etcdserver: too many requests");
          break;
        }
      }
      if (s->encoding != GrpcEncoding::identity) {
        s->inflated.emplace_back(wire, extra);
        s->inflated_extra += extra;
        c.held_ += extra;
      }
      if (s->handler->on_message(std::move(m.bytes), wire)) {
        s->held += wire;
      } else {
        c.consume(*s, id, wire);
        if (!s->inflated.empty()) {
          c.give_back_inflated(*s, s->inflated.back().second);
          s->inflated.pop_back();
        }
      }
    }
    if (result == GrpcMessageReader::Result::too_large) {
      c.refuse(id, 8,
               "grpc: received message larger than max (" +
                   std::to_string(s->reader.refused_length()) + " vs. " +
                   std::to_string(c.loop_.limits_.max_message_bytes) + ")");
    } else if (result == GrpcMessageReader::Result::compressed) {
      c.refuse(id, 13, "grpc: compressed flag set with identity or empty encoding");
    } else if (c.held_ > c.loop_.limits_.connection_request_budget && !s->finished) {
      // The connection's streams hold too much: this one, which went over, is refused as
      // etcd refuses a request it has no room for.
      c.refuse(id, 8, "etcdserver: too many requests");
    }
    return 0;
  }

  static int on_stream_close(nghttp2_session*, int32_t id, uint32_t, void* user) {
    auto& c = of(user);
    auto it = c.streams_.find(id);
    if (it == c.streams_.end()) return 0;
    Stream& s = it->second;
    c.unsent_ -= s.unsent();
    // nghttp2 closes a stream as it produces its last frame, before handing that frame out.
    if (!s.long_lived) c.answer_closed_ = true;
    // What the stream still held leaves the connection's budget (its window went with it).
    c.held_ -= s.unconsumed + s.inflated_extra;
    if (s.handler && !s.finished) {
      s.closing = true;
      s.handler->on_abandoned();
    }
    c.streams_.erase(it);
    return 0;
  }

  // An answer's trailers went out while the client may still send: reset the stream with
  // NO_ERROR, as grpc-go does, so that it stops sending and the stream is freed. Not after
  // a trailers-only answer: gRPC C++'s client reads a reset that follows one as the
  // stream's failure (Unavailable) when it comes before its own end of stream.
  static int on_frame_send(nghttp2_session* session, const nghttp2_frame* frame, void*) {
    const bool trailers = frame->hd.type == NGHTTP2_HEADERS &&
                          frame->headers.cat == NGHTTP2_HCAT_HEADERS &&
                          (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
    if (trailers && nghttp2_session_get_stream_remote_close(session, frame->hd.stream_id) == 0)
      nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, frame->hd.stream_id, NGHTTP2_NO_ERROR);
    return 0;
  }

  static ssize_t read_body(nghttp2_session* session, int32_t id, uint8_t* buffer, size_t length,
                           uint32_t* flags, nghttp2_data_source*, void* user) {
    auto& c = of(user);
    Stream* s = c.stream(id);
    if (!s) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    const size_t n = std::min<size_t>(length, s->unsent());
    std::memcpy(buffer, s->out.data() + s->out_taken, n);
    s->out_taken += n;
    c.unsent_ -= n;
    if (s->out_taken == s->out.size()) {
      s->out.clear();
      s->out_taken = 0;
    } else if (s->out_taken > (64u << 10) && s->out_taken * 2 > s->out.size()) {
      s->out.erase(0, s->out_taken);
      s->out_taken = 0;
    }
    if (s->unsent() == 0) {
      if (s->finished) {
        // The status goes in trailers: the last DATA frame does not end the stream.
        *flags |= NGHTTP2_DATA_FLAG_EOF | NGHTTP2_DATA_FLAG_NO_END_STREAM;
        nghttp2_nv trailers[] = {header("grpc-status", s->code),
                                 header("grpc-message", s->message)};
        if (nghttp2_submit_trailer(session, id, trailers, s->message.empty() ? 1 : 2) != 0)
          return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
      } else if (n == 0) {
        s->deferred = true;
        return NGHTTP2_ERR_DEFERRED;
      }
    }
    return static_cast<ssize_t>(n);
  }

  Loop& loop_;
  const uint64_t id_;
  util::UniqueFd fd_;
  std::unique_ptr<nghttp2_session, SessionDeleter> session_;
  std::unordered_map<int32_t, Stream> streams_;
  uint64_t unsent_ = 0;  // bytes in the streams' `out` not taken by nghttp2
  // Bytes nghttp2 produced and the socket took, since the start; and how far the output
  // goes that holds the last frame of every closed stream (Loop::settled). A stream that
  // closed since the last output was counted sets answer_closed_.
  uint64_t produced_ = 0, written_ = 0, answered_through_ = 0;
  bool answer_closed_ = false;
  std::string out_;  // nghttp2's output not yet taken by the socket, from out_taken_
  size_t out_taken_ = 0;
  uint32_t events_ = EPOLLIN;
  std::vector<int32_t> waiting_;  // streams whose handlers wait for room (wait_to_send)
  size_t held_ = 0;  // the streams' `unconsumed`, summed: what the connection's requests hold
  // Reads handed to the request path and not answered yet (Limits::reads_in_flight), and
  // the streams whose reads wait for a turn, first come first.
  uint32_t reads_in_flight_ = 0;
  std::deque<int32_t> read_line_;
  bool giving_turns_ = false;  // end_read is handing turns on

  bool waits_for_turn(int32_t id) {
    Stream* s = stream(id);
    return s && s->handler && !s->finished && !s->closing;
  }
};

// --- the loop ---

Loop::Loop(Dispatcher& dispatcher, Limits limits)
    : dispatcher_(dispatcher),
      limits_(limits),
      mailbox_(std::make_shared<Mailbox>()),
      next_id_(kFirstConnection) {
  epoll_ = ::epoll_create1(EPOLL_CLOEXEC);
  stop_event_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (epoll_ < 0 || stop_event_ < 0) {
    if (epoll_ >= 0) ::close(epoll_);
    if (stop_event_ >= 0) ::close(stop_event_);
    throw std::runtime_error("h2 door: cannot create its event loop");
  }
  watch(mailbox_->fd(), kMailboxTag, EPOLLIN, EPOLL_CTL_ADD);
  watch(stop_event_, kStopTag, EPOLLIN, EPOLL_CTL_ADD);
  thread_ = std::thread([this] { run(); });
}

Loop::~Loop() {
  wake(stop_event_);
  thread_.join();
  // Tasks still queued (answers to connections about to close) are dropped with the mailbox.
  mailbox_->close();
  // Moved out first: handlers told of the end may look a connection up and find none.
  auto closing = std::move(connections_);
  connections_.clear();
  // What each connection has ready goes out, then its end (FIN). Its client's last frames
  // are read and dropped until it closes too, for at most kLinger: closing a socket with
  // unread input sends a reset, and a reset can make the client drop answers it was sent
  // (a member answering its own removal, then stopping).
  std::vector<pollfd> lingering;
  for (auto& [id, connection] : closing) {
    connection->close_gracefully();
    lingering.push_back({connection->fd(), POLLIN, 0});
  }
  for (auto& [id, fd] : lingering_)  // closed before, their ends already sent
    lingering.push_back({fd.get(), POLLIN, 0});
  const auto deadline = std::chrono::steady_clock::now() + kLinger;
  while (!lingering.empty()) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 ||
        ::poll(lingering.data(), lingering.size(), static_cast<int>(left.count())) <= 0)
      break;
    for (auto it = lingering.begin(); it != lingering.end();) {
      if (it->revents == 0) {
        ++it;
        continue;
      }
      char dropped[16 << 10];
      const ssize_t n = ::recv(it->fd, dropped, sizeof dropped, 0);
      const bool open = n > 0 || (n < 0 && (errno == EAGAIN || errno == EINTR));
      it->revents = 0;
      it = open ? it + 1 : lingering.erase(it);
    }
  }
  closing.clear();
  lingering_.clear();
  ::close(epoll_);
  ::close(stop_event_);
}

void Loop::watch(int fd, uint64_t tag, uint32_t events, int op) {
  epoll_event event{};
  event.events = events;
  event.data.u64 = tag;
  ::epoll_ctl(epoll_, op, fd, &event);
}

Loop::Connection* Loop::find(uint64_t id) const {
  auto it = connections_.find(id);
  return it == connections_.end() ? nullptr : it->second.get();
}

void Loop::adopt(int fd) {
  // Owned from here: a task dropped with a closed mailbox closes the descriptor.
  auto owned = std::make_shared<util::UniqueFd>(fd);
  {
    std::lock_guard lock(mu_);
    ++count_;
  }
  mailbox_->post([owned](Loop& loop) { loop.add(std::move(*owned)); });
}

void Loop::add(util::UniqueFd fd) {
  const int one = 1;
  ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  ::fcntl(fd.get(), F_SETFL, ::fcntl(fd.get(), F_GETFL) | O_NONBLOCK);
  const uint64_t id = next_id_++;
  std::unique_ptr<Connection> connection;
  try {
    connection = std::make_unique<Connection>(*this, id, std::move(fd));
  } catch (const std::bad_alloc&) {
    std::lock_guard lock(mu_);
    --count_;
    return;  // the descriptor closed with the half-made connection
  }
  watch(connection->fd(), id, EPOLLIN, EPOLL_CTL_ADD);
  bool refusing = false;
  {
    std::lock_guard lock(mu_);
    refusing = refusing_;
  }
  if (refusing) connection->goaway();
  auto& kept = *connection;
  connections_.emplace(id, std::move(connection));
  if (!kept.flush()) close(id);
}

void Loop::refuse_new_streams() {
  {
    std::lock_guard lock(mu_);
    refusing_ = true;
  }
  tell_every_connection([](Connection& c) { c.goaway(); });
}

void Loop::begin_drain() {
  tell_every_connection([](Connection& c) { c.shutdown_notice(); });
}

void Loop::tell_every_connection(std::function<void(Connection&)> tell) {
  mailbox_->post([tell = std::move(tell)](Loop& loop) {
    std::vector<uint64_t> ids;
    for (auto& [id, connection] : loop.connections_) {
      tell(*connection);
      ids.push_back(id);
    }
    for (uint64_t id : ids)
      if (auto* c = loop.find(id); c && !c->flush()) loop.close(id);
  });
}

std::optional<bool> Loop::ask_every_connection(const MailboxPtr& mailbox,
                                               std::function<bool(const Connection&)> ask,
                                               std::chrono::steady_clock::time_point deadline) {
  auto checked = std::make_shared<std::promise<bool>>();
  auto answer = checked->get_future();
  // The task holds the only reference, so that a task dropped unrun breaks the promise.
  post(mailbox, [checked = std::move(checked), ask = std::move(ask)](Loop& loop) {
    bool all = true;
    for (const auto& [id, connection] : loop.connections_)
      all = all && ask(*connection);
    checked->set_value(all);
  });
  if (answer.wait_until(deadline) != std::future_status::ready) return std::nullopt;
  try {
    return answer.get();
  } catch (const std::future_error&) {
    // A task dropped with a closed mailbox breaks the promise: the loop and its
    // connections are gone.
    return true;
  }
}

bool Loop::settled(const MailboxPtr& mailbox, std::chrono::steady_clock::time_point deadline) {
  return ask_every_connection(
             mailbox, [](const Connection& c) { return c.settled(); }, deadline)
      .value_or(false);
}

size_t Loop::connections() const {
  std::lock_guard lock(mu_);
  return count_;
}

void Loop::send(StreamRef ref, std::string_view message) {
  if (auto* c = find(ref.connection)) {
    c->send(ref.stream, message);
    dirty_.push_back(ref.connection);
  }
}

void Loop::finish(StreamRef ref, int code, std::string_view message) {
  if (auto* c = find(ref.connection)) {
    c->finish(ref.stream, code, message);
    dirty_.push_back(ref.connection);
  }
}

std::optional<uint64_t> Loop::stream_unsent(StreamRef ref) const {
  auto* c = find(ref.connection);
  if (!c) return std::nullopt;
  auto* s = c->stream(ref.stream);
  if (!s || s->closing) return std::nullopt;
  return s->unsent();
}

bool Loop::may_send_more(StreamRef ref) const {
  auto* c = find(ref.connection);
  if (!c) return false;
  auto* s = c->stream(ref.stream);
  return s && !s->closing && c->may_send_more(*s);
}

void Loop::wait_to_send(StreamRef ref) {
  if (auto* c = find(ref.connection)) c->wait_to_send(ref.stream);
}

void Loop::release(StreamRef ref, size_t bytes) {
  if (auto* c = find(ref.connection)) {
    c->release(ref.stream, bytes);
    dirty_.push_back(ref.connection);
  }
}

bool Loop::wait_sent(std::chrono::steady_clock::time_point deadline) {
  for (;;) {
    auto sent = ask_every_connection(
        mailbox_, [](const Connection& c) { return c.unsent() == 0; }, deadline);
    if (!sent) return false;
    if (*sent) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

bool Loop::begin_read(StreamRef ref) {
  auto* c = find(ref.connection);
  return !c || c->begin_read(ref.stream);
}

void Loop::end_read(uint64_t connection) {
  if (auto* c = find(connection)) c->end_read();
}

uint64_t Loop::connection_unsent(uint64_t connection) const {
  auto* c = find(connection);
  return c ? c->unsent() : 0;
}

void Loop::close(uint64_t id) {
  auto it = connections_.find(id);
  if (it == connections_.end()) return;
  ::epoll_ctl(epoll_, EPOLL_CTL_DEL, it->second->fd(), nullptr);
  // Moved out first: handlers told of the end may look the connection up and find none.
  auto connection = std::move(it->second);
  connections_.erase(it);
  auto fd = connection->take_fd();
  connection.reset();
  {
    std::lock_guard lock(mu_);
    --count_;
  }
  // What went to the socket last (a stopping server's final answers and GOAWAY) is still
  // on its way, and the client acknowledges it with WINDOW_UPDATEs as it reads. Closed
  // now, the socket would answer those with a reset, and a reset makes the client's kernel
  // drop what it has not read yet. So its end (FIN) goes out and the client's last frames
  // are read and dropped until it closes too, for at most kLinger.
  if (!fd.valid() || ::shutdown(fd.get(), SHUT_WR) != 0) return;
  watch(fd.get(), id, EPOLLIN, EPOLL_CTL_ADD);
  lingering_.emplace(id, std::move(fd));
  run_after(kLinger, [id](Loop& loop) { loop.end_linger(id); });
}

void Loop::finish_unread(StreamRef ref, int code, std::string_view message) {
  if (auto* c = find(ref.connection)) {
    c->finish_unread(ref.stream, code, message);
    dirty_.push_back(ref.connection);
  }
}

void Loop::drain_lingering(uint64_t id) {
  auto it = lingering_.find(id);
  if (it == lingering_.end()) return;
  char dropped[16 << 10];
  // As many reads as a connection gets per turn: a client that keeps sending cannot hold
  // the loop (the socket stays readable; the rest is read next turn).
  for (int reads = 0; reads < limits_.reads_per_turn;) {
    const ssize_t n = ::recv(it->second.get(), dropped, sizeof dropped, 0);
    if (n > 0) {
      ++reads;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    return end_linger(id);  // the client closed too, or the socket failed
  }
}

void Loop::end_linger(uint64_t id) {
  auto it = lingering_.find(id);
  if (it == lingering_.end()) return;
  ::epoll_ctl(epoll_, EPOLL_CTL_DEL, it->second.get(), nullptr);
  lingering_.erase(it);
}

void Loop::flush_dirty() {
  std::sort(dirty_.begin(), dirty_.end());
  dirty_.erase(std::unique(dirty_.begin(), dirty_.end()), dirty_.end());
  auto ids = std::move(dirty_);
  dirty_.clear();
  for (uint64_t id : ids)
    if (auto* c = find(id); c && !c->flush()) close(id);
}

Loop::TimerId Loop::run_after(std::chrono::nanoseconds delay, Task task) {
  if (delay >= std::chrono::hours(24 * 365 * 10)) return {};
  TimerId id{std::chrono::steady_clock::now() + std::max(delay, std::chrono::nanoseconds(0)),
             ++timer_sequence_};
  timers_.emplace(id, std::move(task));
  return id;
}

void Loop::cancel_timer(const TimerId& id) {
  timers_.erase(id);
}

void Loop::run() {
  std::vector<epoll_event> events(128);
  for (;;) {
    // Until the next timer is due (rounded up to a millisecond), or for events only.
    int timeout = -1;
    if (!timers_.empty()) {
      const auto left = timers_.begin()->first.at - std::chrono::steady_clock::now();
      timeout = static_cast<int>(std::clamp<int64_t>(
          std::chrono::ceil<std::chrono::milliseconds>(left).count(), 0, 1 << 30));
    }
    const int n = ::epoll_wait(epoll_, events.data(), static_cast<int>(events.size()), timeout);
    for (auto now = std::chrono::steady_clock::now();
         !timers_.empty() && timers_.begin()->first.at <= now;) {
      auto task = std::move(timers_.begin()->second);
      timers_.erase(timers_.begin());
      task(*this);
      flush_dirty();
    }
    for (int i = 0; i < n; ++i) {
      const uint64_t tag = events[i].data.u64;
      if (tag == kStopTag) return;
      if (tag == kMailboxTag) {
        for (auto& task : mailbox_->take())
          task(*this);
      } else if (auto* c = find(tag)) {
        const uint32_t what = events[i].events;
        const bool open = ((what & EPOLLIN) == 0 || c->receive()) && (what & EPOLLERR) == 0 &&
                          ((what & EPOLLHUP) == 0 || (what & EPOLLIN) != 0);
        if (!open || !c->flush()) close(tag);
      } else {
        drain_lingering(tag);
      }
      flush_dirty();
    }
  }
}

}  // namespace revkv::etcdapi::h2
