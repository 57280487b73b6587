#include "apps/revkv-floor/http2_floor.hpp"

#include "apps/revkv-floor/floor_response.hpp"
#include "util/nghttp2_helpers.hpp"
#include "util/unique_fd.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <new>
#include <nghttp2/nghttp2.h>
#include <stdexcept>
#include <string>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <unordered_map>
#include <vector>

namespace revkv::floor {

namespace {

constexpr std::string_view kRangePath = "/etcdserverpb.KV/Range";
// epoll tags of the fixed descriptors; connections take ids from kFirstConnection on.
constexpr uint64_t kListenerTag = 0, kStopTag = 1, kAnswersTag = 2, kFirstConnection = 3;

using util::UniqueFd;

using SessionDeleter = util::Nghttp2SessionDeleter;
using CallbacksDeleter = util::Nghttp2CallbacksDeleter;
constexpr auto header = util::nghttp2_header;

// The gRPC message: a 5-byte prefix (not compressed, big-endian length), then the bytes.
std::string grpc_message(const std::string& bytes) {
  std::string out(5, '\0');
  const uint32_t length = htonl(static_cast<uint32_t>(bytes.size()));
  std::memcpy(out.data() + 1, &length, 4);
  return out + bytes;
}

struct Call {
  uint64_t connection;
  int32_t stream;
};

}  // namespace

struct Http2FloorServer::Impl {
  struct Stream {
    std::string path;
    size_t sent = 0;
  };
  struct Connection {
    Impl* server;
    uint64_t id;
    UniqueFd fd;
    std::unique_ptr<nghttp2_session, SessionDeleter> session;
    std::string out;  // produced by nghttp2, not yet taken by the socket
    bool polling_out = false;
    std::unordered_map<int32_t, Stream> streams;
  };

  const bool hop;
  const std::string response = grpc_message(range_response());
  UniqueFd listener, epoll, stop_event, answers_event;
  uint16_t port = 0;
  std::unique_ptr<nghttp2_session_callbacks, CallbacksDeleter> callbacks;
  std::unordered_map<uint64_t, std::unique_ptr<Connection>> connections;
  uint64_t next_id = kFirstConnection;

  // The hop: calls to the worker, answers back.
  std::mutex mu;
  std::condition_variable work;
  std::vector<Call> calls, answers;
  bool stopping = false;

  std::thread worker, loop;

  Impl(uint16_t wanted, bool with_hop) : hop(with_hop) {
    listener = UniqueFd(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    const int one = 1;
    ::setsockopt(listener.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(wanted);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    if (::bind(listener.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::listen(listener.get(), 128) != 0 ||
        ::getsockname(listener.get(), reinterpret_cast<sockaddr*>(&address), &length) != 0)
      throw std::runtime_error("revkv-floor: cannot listen on 127.0.0.1:" + std::to_string(wanted) +
                               ": " + std::strerror(errno));
    port = ntohs(address.sin_port);
    epoll = UniqueFd(::epoll_create1(EPOLL_CLOEXEC));
    stop_event = UniqueFd(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
    answers_event = UniqueFd(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
    watch(listener.get(), kListenerTag, EPOLLIN);
    watch(stop_event.get(), kStopTag, EPOLLIN);
    watch(answers_event.get(), kAnswersTag, EPOLLIN);

    nghttp2_session_callbacks* raw = nullptr;
    if (nghttp2_session_callbacks_new(&raw) != 0) throw std::bad_alloc();
    callbacks.reset(raw);
    nghttp2_session_callbacks_set_on_begin_headers_callback(raw, &Impl::on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(raw, &Impl::on_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(raw, &Impl::on_frame_recv);
    nghttp2_session_callbacks_set_on_stream_close_callback(raw, &Impl::on_stream_close);

    if (hop) worker = std::thread([this] { work_loop(); });
    loop = std::thread([this] { event_loop(); });
  }

  ~Impl() {
    {
      std::lock_guard lock(mu);
      stopping = true;
    }
    work.notify_all();
    const uint64_t one = 1;
    (void)!::write(stop_event.get(), &one, sizeof one);
    loop.join();
    if (worker.joinable()) worker.join();
  }

  void watch(int fd, uint64_t tag, uint32_t events, int op = EPOLL_CTL_ADD) {
    epoll_event event{};
    event.events = events;
    event.data.u64 = tag;
    ::epoll_ctl(epoll.get(), op, fd, &event);
  }

  // --- nghttp2's callbacks (user_data: the Connection) ---

  static int on_begin_headers(nghttp2_session*, const nghttp2_frame* frame, void* user) {
    if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST)
      static_cast<Connection*>(user)->streams[frame->hd.stream_id];
    return 0;
  }

  static int on_header(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                       size_t name_length, const uint8_t* value, size_t value_length, uint8_t,
                       void* user) {
    if (std::string_view(reinterpret_cast<const char*>(name), name_length) != ":path") return 0;
    auto& streams = static_cast<Connection*>(user)->streams;
    if (auto it = streams.find(frame->hd.stream_id); it != streams.end())
      it->second.path.assign(reinterpret_cast<const char*>(value), value_length);
    return 0;
  }

  static int on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* user) {
    auto* connection = static_cast<Connection*>(user);
    const bool request_end =
        (frame->hd.type == NGHTTP2_DATA || frame->hd.type == NGHTTP2_HEADERS) &&
        (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
    if (!request_end) return 0;
    // The floor reads no request: its whole cost is the transport's.
    Impl& server = *connection->server;
    if (!server.hop) {
      server.answer(*connection, frame->hd.stream_id);
      return 0;
    }
    {
      std::lock_guard lock(server.mu);
      server.calls.push_back({connection->id, frame->hd.stream_id});
    }
    server.work.notify_one();
    return 0;
  }

  static int on_stream_close(nghttp2_session*, int32_t stream, uint32_t, void* user) {
    static_cast<Connection*>(user)->streams.erase(stream);
    return 0;
  }

  static ssize_t read_response(nghttp2_session* session, int32_t stream, uint8_t* buffer,
                               size_t length, uint32_t* flags, nghttp2_data_source*, void* user) {
    auto* connection = static_cast<Connection*>(user);
    auto it = connection->streams.find(stream);
    if (it == connection->streams.end()) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    const std::string& response = connection->server->response;
    const size_t n = std::min(length, response.size() - it->second.sent);
    std::memcpy(buffer, response.data() + it->second.sent, n);
    it->second.sent += n;
    if (it->second.sent == response.size()) {
      // The status goes in trailers: the DATA frame does not end the stream.
      *flags |= NGHTTP2_DATA_FLAG_EOF | NGHTTP2_DATA_FLAG_NO_END_STREAM;
      nghttp2_nv trailers[] = {header("grpc-status", "0")};
      // Without its trailers the stream would never end: reset it instead.
      if (nghttp2_submit_trailer(session, stream, trailers, 1) != 0)
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    }
    return static_cast<ssize_t>(n);
  }

  // --- the loop ---

  void answer(Connection& connection, int32_t stream) {
    auto it = connection.streams.find(stream);
    if (it == connection.streams.end()) return;  // reset by the client meanwhile
    if (it->second.path != kRangePath) {
      // A trailers-only answer, as gRPC gives for a method it does not serve.
      nghttp2_nv headers[] = {header(":status", "200"), header("content-type", "application/grpc"),
                              header("grpc-status", "12"),
                              header("grpc-message", "the floor serves KV.Range only")};
      nghttp2_submit_response(connection.session.get(), stream, headers, 4, nullptr);
      return;
    }
    nghttp2_nv headers[] = {header(":status", "200"), header("content-type", "application/grpc")};
    nghttp2_data_provider body{};
    body.read_callback = &Impl::read_response;
    nghttp2_submit_response(connection.session.get(), stream, headers, 2, &body);
  }

  void accept_all() {
    for (;;) {
      const int fd = ::accept4(listener.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        // Out of descriptors: the listener stays readable and epoll would report it again
        // at once; stop watching it (a benchmark's server has no one to wait for).
        if (errno == EMFILE || errno == ENFILE)
          ::epoll_ctl(epoll.get(), EPOLL_CTL_DEL, listener.get(), nullptr);
        return;
      }
      const int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      auto connection = std::make_unique<Connection>();
      connection->server = this;
      connection->id = next_id++;
      connection->fd = UniqueFd(fd);
      nghttp2_session* session = nullptr;
      if (nghttp2_session_server_new(&session, callbacks.get(), connection.get()) != 0)
        continue;  // out of memory: the connection closes with its descriptor
      connection->session.reset(session);
      nghttp2_settings_entry settings[] = {{NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 1000},
                                           {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 1 << 20}};
      nghttp2_submit_settings(session, NGHTTP2_FLAG_NONE, settings, 2);
      watch(fd, connection->id, EPOLLIN);
      auto& kept = *connection;
      connections.emplace(kept.id, std::move(connection));
      if (!flush(kept)) close(kept.id);
    }
  }

  // Hands nghttp2's output to the socket; false once the connection is done with.
  bool flush(Connection& connection) {
    for (;;) {
      const uint8_t* data = nullptr;
      const ssize_t n = nghttp2_session_mem_send(connection.session.get(), &data);
      if (n < 0) return false;
      if (n == 0) break;
      connection.out.append(reinterpret_cast<const char*>(data), static_cast<size_t>(n));
    }
    while (!connection.out.empty()) {
      const ssize_t sent =
          ::send(connection.fd.get(), connection.out.data(), connection.out.size(), MSG_NOSIGNAL);
      if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      if (sent <= 0) return false;
      connection.out.erase(0, static_cast<size_t>(sent));
    }
    const bool pending = !connection.out.empty();
    if (pending != connection.polling_out) {
      connection.polling_out = pending;
      watch(connection.fd.get(), connection.id, EPOLLIN | (pending ? EPOLLOUT : 0u), EPOLL_CTL_MOD);
    }
    return pending || nghttp2_session_want_read(connection.session.get()) ||
           nghttp2_session_want_write(connection.session.get());
  }

  // Reads what the socket has; false once the connection is done with.
  bool receive(Connection& connection) {
    char buffer[64 << 10];
    for (;;) {
      const ssize_t n = ::recv(connection.fd.get(), buffer, sizeof buffer, 0);
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
      if (n <= 0) return false;
      if (nghttp2_session_mem_recv(connection.session.get(), reinterpret_cast<uint8_t*>(buffer),
                                   static_cast<size_t>(n)) < 0)
        return false;
    }
  }

  void close(uint64_t id) {
    auto it = connections.find(id);
    if (it == connections.end()) return;
    ::epoll_ctl(epoll.get(), EPOLL_CTL_DEL, it->second->fd.get(), nullptr);
    connections.erase(it);
  }

  void take_answers() {
    uint64_t count = 0;
    (void)!::read(answers_event.get(), &count, sizeof count);
    std::vector<Call> done;
    {
      std::lock_guard lock(mu);
      done.swap(answers);
    }
    std::vector<uint64_t> touched;
    for (const auto& call : done) {
      auto it = connections.find(call.connection);
      if (it == connections.end()) continue;  // closed meanwhile
      answer(*it->second, call.stream);
      touched.push_back(call.connection);
    }
    std::sort(touched.begin(), touched.end());
    touched.erase(std::unique(touched.begin(), touched.end()), touched.end());
    for (uint64_t id : touched) {
      auto it = connections.find(id);
      if (it != connections.end() && !flush(*it->second)) close(id);
    }
  }

  void event_loop() {
    std::vector<epoll_event> events(64);
    for (;;) {
      const int n = ::epoll_wait(epoll.get(), events.data(), static_cast<int>(events.size()), -1);
      for (int i = 0; i < n; ++i) {
        const uint64_t tag = events[i].data.u64;
        if (tag == kStopTag) return;
        if (tag == kListenerTag) {
          accept_all();
        } else if (tag == kAnswersTag) {
          take_answers();
        } else if (auto it = connections.find(tag); it != connections.end()) {
          Connection& connection = *it->second;
          const bool open = ((events[i].events & EPOLLIN) == 0 || receive(connection)) &&
                            (events[i].events & (EPOLLERR | EPOLLHUP)) == 0;
          if (!open || !flush(connection)) close(tag);
        }
      }
    }
  }

  // The other side of the hop: takes the calls in batches, gives them back as answers.
  void work_loop() {
    std::vector<Call> batch;
    for (;;) {
      {
        std::unique_lock lock(mu);
        work.wait(lock, [this] { return stopping || !calls.empty(); });
        if (stopping) return;
        batch.swap(calls);
      }
      bool wake = false;
      {
        std::lock_guard lock(mu);
        wake = answers.empty();
        answers.insert(answers.end(), batch.begin(), batch.end());
      }
      batch.clear();
      if (wake) {
        const uint64_t one = 1;
        (void)!::write(answers_event.get(), &one, sizeof one);
      }
    }
  }
};

Http2FloorServer::Http2FloorServer(uint16_t port, bool hop)
    : impl_(std::make_unique<Impl>(port, hop)) {}

Http2FloorServer::~Http2FloorServer() = default;

uint16_t Http2FloorServer::port() const {
  return impl_->port;
}

}  // namespace revkv::floor
