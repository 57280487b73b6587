#pragma once

// The client side of the framing (docs/PROTOCOL.md "Framing"): turns the node's byte stream
// into responses [1, msgid, error, result] and notifications [2, method, [body]].
// protocol::FrameDecoder reads the other direction (requests) with the node's request
// limits; a response may legitimately be much larger than any request (a Range over many
// keys), so the client has its own, larger bound per frame.

#include "client/socket.hpp"
#include "protocol/error.hpp"

#include <cstddef>
#include <cstdint>
#include <msgpack.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace revkv::client {

struct ClientLimits {
  // etcd's client accepts responses up to 2 GiB; 256 MiB is plenty for one node's answer
  // and keeps a broken stream from growing the buffer without bound.
  std::size_t max_frame_bytes = 256u * 1024 * 1024;
  std::size_t max_depth = 256;  // as protocol::FrameLimits
  // Elements one container may declare: msgpack-cxx allocates 24 bytes per declared
  // element before reading them, so this caps that allocation.
  std::size_t max_container_elements = 16u * 1024 * 1024;
};

struct Response {
  uint32_t msgid = 0;
  std::optional<protocol::WireError> error;
  msgpack::object result;         // NIL when error is set
  msgpack::object_handle handle;  // owns what `result` points into
};

struct Notification {
  std::string method;
  msgpack::object body;  // the first params element (NIL for params [])
  msgpack::object_handle handle;
};

using Incoming = std::variant<Response, Notification>;

class ResponseDecoder {
 public:
  explicit ResponseDecoder(ClientLimits limits = {});

  void feed(std::string_view bytes);

  // The next complete frame, nullopt when more bytes are needed, or an error (malformed
  // or oversized frame) after which the stream is unusable: every later call repeats it.
  Result<std::optional<Incoming>> next();

 private:
  ClientLimits limits_;
  msgpack::unpacker unpacker_;
  std::size_t fed_ = 0;       // bytes fed in total
  std::size_t consumed_ = 0;  // bytes that made up complete frames
  std::optional<protocol::WireError> failed_;
};

// Fills `out` from one decoded msgpack frame; false if it is not a response/notification.
bool interpret_incoming(msgpack::object_handle handle, Incoming& out);

}  // namespace revkv::client
