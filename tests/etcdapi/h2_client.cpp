#include "tests/etcdapi/h2_client.hpp"

#include "util/nghttp2_helpers.hpp"
#include "util/unique_fd.hpp"

#include <arpa/inet.h>
#include <cstring>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <nghttp2/nghttp2.h>
#include <poll.h>
#include <stdexcept>
#include <sys/socket.h>
#include <unistd.h>

namespace revkv::testing {

namespace {
uint32_t read_be32(const std::string& s, size_t at) {
  return (uint32_t{static_cast<uint8_t>(s[at])} << 24) |
         (uint32_t{static_cast<uint8_t>(s[at + 1])} << 16) |
         (uint32_t{static_cast<uint8_t>(s[at + 2])} << 8) |
         uint32_t{static_cast<uint8_t>(s[at + 3])};
}
}  // namespace

std::optional<int> H2Answer::grpc_status() const {
  if (auto it = trailers.find("grpc-status"); it != trailers.end()) return std::stoi(it->second);
  if (auto it = headers.find("grpc-status"); it != headers.end()) return std::stoi(it->second);
  return std::nullopt;
}

std::string H2Answer::grpc_message() const {
  auto it = trailers.find("grpc-message");
  if (it != trailers.end()) return it->second;
  it = headers.find("grpc-message");
  return it == headers.end() ? std::string() : it->second;
}

std::vector<std::string> H2Answer::messages() const {
  std::vector<std::string> out;
  size_t at = 0;
  while (at + 5 <= data.size()) {
    const size_t n = read_be32(data, at + 1);
    if (at + 5 + n > data.size()) break;
    out.push_back(data.substr(at + 5, n));
    at += 5 + n;
  }
  return out;
}

struct H2Client::Impl {
  // The DATA of a stream opened with open_stream, and how much of it went out.
  struct Body {
    std::string data;
    size_t sent = 0;
    bool end_stream = false;
  };
  std::map<int32_t, std::unique_ptr<Body>> bodies;
  std::vector<std::unique_ptr<Body>> more_bodies;  // send_data's
  util::UniqueFd fd;
  nghttp2_session* session = nullptr;
  int32_t stream = -1;                  // the stream of the last call()
  std::map<int32_t, H2Answer> answers;  // every stream's, by id
  std::optional<int32_t> goaway;
  bool broken = false;
  std::map<int32_t, size_t> held;  // streams whose windows are held: the bytes held

  ~Impl() {
    if (session) nghttp2_session_del(session);
  }

  static Impl& of(void* user) { return *static_cast<Impl*>(user); }

  static int on_header(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                       size_t name_length, const uint8_t* value, size_t value_length, uint8_t,
                       void* user) {
    auto& answer = of(user).answers[frame->hd.stream_id];
    std::string n(reinterpret_cast<const char*>(name), name_length);
    std::string v(reinterpret_cast<const char*>(value), value_length);
    if (n == ":status") {
      answer.http_status = std::stoi(v);
    } else if (frame->headers.cat == NGHTTP2_HCAT_HEADERS) {
      answer.trailers[n] = v;
    } else {
      answer.headers[n] = v;
    }
    return 0;
  }
  static int on_data(nghttp2_session* session, uint8_t, int32_t id, const uint8_t* data,
                     size_t length, void* user) {
    auto& self = of(user);
    self.answers[id].data.append(reinterpret_cast<const char*>(data), length);
    nghttp2_session_consume_connection(session, length);
    if (auto it = self.held.find(id); it != self.held.end()) {
      it->second += length;
    } else {
      nghttp2_session_consume_stream(session, id, length);
    }
    return 0;
  }
  static int on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* user) {
    auto& self = of(user);
    if (frame->hd.type == NGHTTP2_GOAWAY) self.goaway = frame->goaway.last_stream_id;
    if (frame->hd.stream_id == 0) return 0;
    auto& answer = self.answers[frame->hd.stream_id];
    if (frame->hd.type == NGHTTP2_RST_STREAM) {
      answer.reset = frame->rst_stream.error_code;
      answer.complete = true;
    }
    // The server's side ended: the answer is whole, whether or not this side ended too.
    if ((frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA) &&
        (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0)
      answer.complete = true;
    return 0;
  }
  static int on_close(nghttp2_session*, int32_t id, uint32_t, void* user) {
    of(user).answers[id].complete = true;
    return 0;
  }
  static ssize_t read_open_body(nghttp2_session*, int32_t, uint8_t* buffer, size_t length,
                                uint32_t* flags, nghttp2_data_source* source, void*) {
    auto& body = *static_cast<Body*>(source->ptr);
    const size_t n = std::min(length, body.data.size() - body.sent);
    std::memcpy(buffer, body.data.data() + body.sent, n);
    body.sent += n;
    if (body.sent == body.data.size()) {
      *flags |= NGHTTP2_DATA_FLAG_EOF;
      if (!body.end_stream) *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
    }
    return static_cast<ssize_t>(n);
  }

  // Sends what nghttp2 has and reads what comes until `done` or the deadline.
  template <class Done>
  void pump(std::chrono::steady_clock::time_point deadline, Done done) {
    while (!broken && !done()) {
      for (;;) {
        const uint8_t* data = nullptr;
        const ssize_t n = nghttp2_session_mem_send(session, &data);
        if (n <= 0) break;
        for (ssize_t sent = 0; sent < n;) {
          const ssize_t w =
              ::send(fd.get(), data + sent, static_cast<size_t>(n - sent), MSG_NOSIGNAL);
          if (w <= 0) {
            broken = true;
            return;
          }
          sent += w;
        }
      }
      if (done()) return;
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return;
      pollfd p{fd.get(), POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(std::min<int64_t>(left.count(), 100))) <= 0) continue;
      char buffer[16384];
      const ssize_t r = ::recv(fd.get(), buffer, sizeof buffer, 0);
      if (r <= 0 || nghttp2_session_mem_recv(session, reinterpret_cast<uint8_t*>(buffer),
                                             static_cast<size_t>(r)) < 0) {
        broken = true;
        return;
      }
    }
  }
};

H2Client::H2Client(uint16_t port) : impl_(std::make_unique<Impl>()) {
  impl_->fd = util::UniqueFd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(impl_->fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0)
    throw std::runtime_error("h2 client: cannot connect to port " + std::to_string(port));
  // As gRPC's clients do: a small frame (a WINDOW_UPDATE) is not held back by Nagle's
  // algorithm waiting for the server's delayed ACK.
  const int one = 1;
  ::setsockopt(impl_->fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  nghttp2_session_callbacks* callbacks = nullptr;
  nghttp2_session_callbacks_new(&callbacks);
  nghttp2_session_callbacks_set_on_header_callback(callbacks, &Impl::on_header);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, &Impl::on_data);
  nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, &Impl::on_frame_recv);
  nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, &Impl::on_close);
  // Windows are given back by on_data (consume), so that a stream's can be held.
  nghttp2_option* option = nullptr;
  nghttp2_option_new(&option);
  nghttp2_option_set_no_auto_window_update(option, 1);
  nghttp2_session_client_new2(&impl_->session, callbacks, impl_.get(), option);
  nghttp2_option_del(option);
  nghttp2_session_callbacks_del(callbacks);
  nghttp2_submit_settings(impl_->session, NGHTTP2_FLAG_NONE, nullptr, 0);
}

H2Client::~H2Client() = default;

H2Client::Headers H2Client::grpc_headers(const std::string& path) {
  return {{":method", "POST"},
          {":scheme", "http"},
          {":authority", "127.0.0.1"},
          {":path", path},
          {"content-type", "application/grpc"},
          {"te", "trailers"}};
}

H2Answer H2Client::call(const Headers& headers, const std::string& data, bool end_stream,
                        std::chrono::milliseconds wait) {
  auto& s = *impl_;
  s.stream = open_stream(headers, data, end_stream);
  auto& answer = s.answers[s.stream];
  s.pump(std::chrono::steady_clock::now() + wait, [&answer] { return answer.complete; });
  return answer;
}

H2Answer H2Client::wait_end(std::chrono::milliseconds wait) {
  auto& s = *impl_;
  auto& answer = s.answers[s.stream];
  s.pump(std::chrono::steady_clock::now() + wait, [&answer] { return answer.complete; });
  return answer;
}

H2Answer H2Client::wait_messages(size_t count, std::chrono::milliseconds wait) {
  auto& s = *impl_;
  auto& answer = s.answers[s.stream];
  s.pump(std::chrono::steady_clock::now() + wait,
         [&answer, count] { return answer.complete || answer.messages().size() >= count; });
  return answer;
}

bool H2Client::pump_until(const std::function<bool()>& done, std::chrono::milliseconds wait) {
  impl_->pump(std::chrono::steady_clock::now() + wait, done);
  return done();
}

bool H2Client::broken() const {
  return impl_->broken;
}

H2Answer H2Client::answer(int32_t stream) const {
  auto it = impl_->answers.find(stream);
  return it == impl_->answers.end() ? H2Answer{} : it->second;
}

bool H2Client::complete(int32_t stream) const {
  auto it = impl_->answers.find(stream);
  return it != impl_->answers.end() && it->second.complete;
}

size_t H2Client::data_size(int32_t stream) const {
  auto it = impl_->answers.find(stream);
  return it == impl_->answers.end() ? 0 : it->second.data.size();
}

int32_t H2Client::open_stream(const Headers& headers, const std::string& data, bool end_stream) {
  auto& s = *impl_;
  auto body = std::make_unique<Impl::Body>();
  body->data = data;
  body->end_stream = end_stream;
  std::vector<nghttp2_nv> nv;
  for (const auto& [name, value] : headers)
    nv.push_back(util::nghttp2_header(name, value));
  nghttp2_data_provider provider{};
  provider.source.ptr = body.get();
  provider.read_callback = &Impl::read_open_body;
  // Headers alone (with END_STREAM) when there is nothing to send.
  const bool headers_only = data.empty() && end_stream;
  const int32_t id = nghttp2_submit_request(s.session, nullptr, nv.data(), nv.size(),
                                            headers_only ? nullptr : &provider, nullptr);
  if (id < 0) throw std::runtime_error("h2 client: cannot open a stream");
  s.bodies.emplace(id, std::move(body));
  return id;
}

void H2Client::send_data(int32_t stream, const std::string& data, bool end_stream) {
  auto& s = *impl_;
  auto body = std::make_unique<Impl::Body>();
  body->data = data;
  body->end_stream = end_stream;
  nghttp2_data_provider provider{};
  provider.source.ptr = body.get();
  provider.read_callback = &Impl::read_open_body;
  if (nghttp2_submit_data(s.session, NGHTTP2_FLAG_NONE, stream, &provider) != 0)
    throw std::runtime_error("h2 client: cannot send more on a stream");
  s.more_bodies.push_back(std::move(body));
}

void H2Client::reset(int32_t stream) {
  if (nghttp2_submit_rst_stream(impl_->session, NGHTTP2_FLAG_NONE, stream, NGHTTP2_CANCEL) != 0)
    throw std::runtime_error("h2 client: cannot reset a stream");
}

void H2Client::hold_window(int32_t stream, bool hold) {
  auto& s = *impl_;
  if (hold) {
    s.held.try_emplace(stream, 0);
    return;
  }
  auto it = s.held.find(stream);
  if (it == s.held.end()) return;
  nghttp2_session_consume_stream(s.session, stream, it->second);
  s.held.erase(it);
}

int32_t H2Client::connection_window() const {
  return nghttp2_session_get_remote_window_size(impl_->session);
}

int32_t H2Client::stream_window(int32_t stream) const {
  return nghttp2_session_get_stream_remote_window_size(impl_->session, stream);
}

size_t H2Client::unsent(int32_t stream) const {
  auto it = impl_->bodies.find(stream);
  return it == impl_->bodies.end() ? 0 : it->second->data.size() - it->second->sent;
}

std::optional<int32_t> H2Client::wait_goaway(std::chrono::milliseconds wait) {
  auto& s = *impl_;
  s.pump(std::chrono::steady_clock::now() + wait, [&s] { return s.goaway.has_value(); });
  return s.goaway;
}

}  // namespace revkv::testing
