#pragma once

// One event loop of revkv's own HTTP/2 door (etcdapi/h2_door.hpp): a thread on epoll that
// owns client connections, each an HTTP/2 server session of libnghttp2 (framing, HPACK,
// flow control, SETTINGS, PING, GOAWAY come from the library; gRPC's framing on top of it
// from etcdapi/grpc_wire.hpp). Each request stream gets a handler from the door's
// dispatcher once its headers are in; the handler hears the stream's messages and its end
// on this thread, and answers from any thread by posting to the loop.
//
// Bounds (docs/NODE.md "The HTTP/2 door"): a stream's requests are held only within its
// HTTP/2 flow-control window, which the loop reopens as handlers release what they took
// (no automatic WINDOW_UPDATE), and a connection's within its request budget; a request
// message over max_message_bytes ends its stream with
// gRPC's ResourceExhausted; a connection whose socket does not take output_ahead bytes of
// its answers is not read until it does; handlers that stream answers wait while their
// stream or connection holds more than its limit unsent; at most max_concurrent_streams
// streams per connection (SETTINGS), max_header_bytes of headers per stream.

#include "util/unique_fd.hpp"

#include <chrono>
#include <compare>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

namespace revkv::etcdapi::h2 {

// A stream of one connection of one loop.
struct StreamRef {
  uint64_t connection = 0;
  int32_t stream = 0;
};

// What a request's headers said.
struct RequestHead {
  std::string path;
  // The headers a gRPC server hands its handlers as metadata (not the pseudo-headers,
  // not gRPC's own, not binary ones).
  std::vector<std::pair<std::string, std::string>> metadata;
  std::optional<std::chrono::nanoseconds> timeout;
  // The connection's descriptor: what its TLS client certificate was recorded under.
  int fd = -1;
};

class Loop;

// Whether a request header goes to the handlers as metadata: not the pseudo-headers, not
// gRPC's own (grpc-*, te, content-type, user-agent), not binary ones (-bin), never revkv's
// in-process ones (revkv-*), which a client must not be able to set, and only names and
// values gRPC itself accepts (lower-case letters, digits, - _ . in names; printable ASCII
// in values): gRPC's C++ library aborts the process on a call started with others.
bool forwarded_as_metadata(std::string_view name, std::string_view value);

// One stream's handler; every call on the loop's thread.
class StreamHandler {
 public:
  virtual ~StreamHandler() = default;
  // A request message (inflated, if it came compressed). The bytes it took on the wire,
  // `wire`, count against the stream's and the connection's flow-control windows until
  // released: at once when this returns false; when it returns true, by the handler's
  // Loop::release of `wire` once it is done with the message (a relayed call: once the
  // service took it). Messages are released whole, in the order they came.
  virtual bool on_message(std::string message, size_t wire) = 0;
  // The client will send no more.
  virtual void on_half_close() = 0;
  // The stream ended before the handler finished it (a reset, a closed connection).
  virtual void on_abandoned() = 0;
  // The loop itself ended the stream with `code` (a message too large, compressed, cut
  // short); nothing more comes to the handler but its destruction.
  virtual void on_refused(int code) = 0;
  // After Loop::wait_to_send: the stream and its connection are below their limits again.
  virtual void on_drained() {}
  // After Loop::begin_read said wait: the stream's read has its turn now (ended with
  // Loop::end_read as if begin_read had said yes).
  virtual void on_turn() {}
};

class Dispatcher {
 public:
  virtual ~Dispatcher() = default;
  // A new stream whose headers are in; never null. On the loop's thread.
  virtual std::unique_ptr<StreamHandler> open(Loop& loop, StreamRef ref, RequestHead head) = 0;
};

class Loop {
 public:
  struct Limits {
    size_t max_message_bytes = 4u << 20;
    // nghttp2's output taken at most this far ahead of a connection's socket; a connection
    // with this much waiting for its socket is not read.
    size_t output_ahead = 1u << 20;
    // Unsent answer bytes of one stream, and of a connection, from which may_send_more
    // says no.
    uint64_t stream_unsent_limit = 1u << 20;
    uint64_t connection_unsent_limit = 8u << 20;
    // The flow-control windows: a stream's is at least twice max_message_bytes + 5, so
    // that the largest message fits even after one not yet given back. The connection's
    // gets every byte back as it arrives; connection_request_budget bounds what the
    // streams of a connection hold (unfinished and not-yet-taken messages): the stream
    // that goes over it is refused ResourceExhausted `etcdserver: too many requests`.
    uint32_t stream_window = 1u << 20;
    uint32_t connection_window = 16u << 20;
    size_t connection_request_budget = 64u << 20;
    uint32_t max_concurrent_streams = 1024;
    // Reads of one connection handed to the request path at once; the others wait in the
    // door, first come first (Loop::begin_read). One client's burst of large Ranges would
    // otherwise fill the shards' mailboxes ahead of every other client's requests. The
    // door sets NodeOptions::reads_in_flight_per_connection.
    uint32_t reads_in_flight = 64;
    size_t max_header_bytes = 16u << 10;
    // recv calls on one connection per turn of the loop: one busy client cannot hold it.
    int reads_per_turn = 16;
  };
  using Task = std::function<void(Loop&)>;

  // Tasks for a loop from any thread; the loop drains them on its thread. Shared by those
  // who post, so that posting after the loop is gone is harmless (the task is dropped).
  class Mailbox;
  using MailboxPtr = std::shared_ptr<Mailbox>;
  static void post(const MailboxPtr& mailbox, Task task);

  Loop(Dispatcher& dispatcher, Limits limits);
  ~Loop();  // closes every connection (their handlers hear on_abandoned), joins the thread
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;

  const MailboxPtr& mailbox() const { return mailbox_; }
  // Takes `fd` (a connected socket; closed if the loop is stopping). Any thread.
  void adopt(int fd);
  // GOAWAY on every connection, and on every connection adopted from now on. Any thread.
  void refuse_new_streams();
  // Waits until every connection's answers have gone to its socket (HTTP/2 flow control
  // lets a large answer out only as its client reads), or until `deadline`; whether they
  // have. Any thread but the loop's.
  bool wait_sent(std::chrono::steady_clock::time_point deadline);
  // A leadership drain begins (docs/CLUSTER.md "Leadership loss"): every connection open
  // now is told that the server is going away (GOAWAY with the largest stream id, as
  // nghttp2_submit_shutdown_notice sends it), so that its client opens no new stream on
  // it while every stream it already sent is still taken and answered. Connections adopted
  // later are served as usual. Any thread.
  void begin_drain();
  // Whether the loop of `mailbox` holds nothing of its clients' calls: no request unread
  // in a socket, no stream open (Watch, LeaseKeepAlive and Snapshot streams aside: they
  // stay open for as long as their clients want), and every answer of a closed stream in
  // its socket. Asks the loop's thread; false when it has not answered by `deadline`,
  // true when the loop is gone (its connections went with it). Takes the mailbox rather
  // than the loop, so that a drain polling it cannot outlive what it polls. Any thread but
  // the loop's.
  static bool settled(const MailboxPtr& mailbox, std::chrono::steady_clock::time_point deadline);
  // Number of open connections (tests). Any thread.
  size_t connections() const;

  // --- on the loop's thread (handlers, posted tasks) ---
  // Queues a message on the stream (headers go first). No-op for a stream that is gone.
  void send(StreamRef ref, std::string_view message);
  // Ends the stream with a status (trailers, or trailers only). No-op once gone.
  void finish(StreamRef ref, int code, std::string_view message);
  // Unsent answer bytes of a stream; nullopt once gone.
  std::optional<uint64_t> stream_unsent(StreamRef ref) const;
  // Whether the stream and its connection are both below their unsent limits (false once
  // the stream is gone).
  bool may_send_more(StreamRef ref) const;
  // The handler of `ref` hears on_drained once may_send_more holds again.
  void wait_to_send(StreamRef ref);
  // Releases `bytes` a handler held (StreamHandler::on_message): the client may send that
  // much more. No-op once the stream is gone (its bytes were released with it).
  void release(StreamRef ref, size_t bytes);
  // finish() for a handler outside on_message (a deadline's timer): the bytes of a message
  // the client has not finished go back to the windows too.
  void finish_unread(StreamRef ref, int code, std::string_view message);
  // Whether the read of `ref` may go to the request path now (then counted as in flight
  // until end_read) or waits for its connection's earlier reads (Limits::reads_in_flight):
  // its handler then hears on_turn once one has ended. Yes once the connection is gone.
  bool begin_read(StreamRef ref);
  // A read begun (or given its turn) has ended; no-op once its connection is gone.
  void end_read(uint64_t connection);
  // Unsent answer bytes of a connection (0 once gone).
  uint64_t connection_unsent(uint64_t connection) const;
  // Runs `task` on the loop's thread once `delay` has passed (never, if the loop stops
  // first, or if the delay is ten years or more: the id then names no timer). A timer
  // cancelled before it ran never runs and holds nothing.
  struct TimerId {
    std::chrono::steady_clock::time_point at;
    uint64_t sequence = 0;
    auto operator<=>(const TimerId&) const = default;
  };
  TimerId run_after(std::chrono::nanoseconds delay, Task task);
  void cancel_timer(const TimerId& id);
  const Limits& limits() const { return limits_; }

 private:
  class Connection;
  friend class Connection;

  void run();
  void add(util::UniqueFd fd);
  // Closes connection `id`; its socket lingers (lingering_).
  void close(uint64_t id);
  // A lingering socket is readable: what came is dropped; ended once the client closed.
  void drain_lingering(uint64_t id);
  void end_linger(uint64_t id);
  // Runs `tell` on every connection on the loop's thread, then flushes them.
  void tell_every_connection(std::function<void(Connection&)> tell);
  // Whether `ask` holds for every connection of the loop of `mailbox` (true once that loop
  // is gone); nullopt when the loop has not answered by `deadline`.
  static std::optional<bool> ask_every_connection(const MailboxPtr& mailbox,
                                                  std::function<bool(const Connection&)> ask,
                                                  std::chrono::steady_clock::time_point deadline);
  // Flushes the connections that send() and finish() touched.
  void flush_dirty();
  void watch(int fd, uint64_t tag, uint32_t events, int op);
  Connection* find(uint64_t id) const;

  Dispatcher& dispatcher_;
  const Limits limits_;
  MailboxPtr mailbox_;
  int epoll_ = -1;
  int stop_event_ = -1;
  std::unordered_map<uint64_t, std::unique_ptr<Connection>> connections_;
  // Sockets of closed connections, by their connection's id (their epoll tag), until their
  // clients close too or kLinger has passed.
  std::unordered_map<uint64_t, util::UniqueFd> lingering_;
  uint64_t next_id_;
  mutable std::mutex mu_;  // guards refusing_, count_
  std::vector<uint64_t> dirty_;
  std::map<TimerId, Task> timers_;  // run_after's, the next due first
  uint64_t timer_sequence_ = 0;
  bool refusing_ = false;
  size_t count_ = 0;
  std::thread thread_;
};

}  // namespace revkv::etcdapi::h2
