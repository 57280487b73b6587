#pragma once

// MessagePack-RPC framing over a byte stream (docs/PROTOCOL.md "Framing"): the stream is a
// sequence of msgpack arrays with no length prefix, so the decoder finds each frame's
// end itself. It does so with a scan that allocates nothing and checks every declared
// length against the bytes still allowed, before msgpack-cxx (which allocates
// count x 24 bytes for an array as soon as it reads the header) sees the frame; then the
// element counts msgpack-cxx may allocate for are bounded by bytes actually received.

#include "protocol/error.hpp"

#include <cstddef>
#include <cstdint>
#include <msgpack.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace revkv::protocol {

struct FrameLimits {
  // etcd's default --max-request-bytes (1.5 MiB), applied to the params of a request.
  std::size_t max_request_bytes = 1536 * 1024;
  // Frames up to max_request_bytes + slack are read whole and answered "request is too
  // large" with the connection kept; longer ones are not read to their end.
  std::size_t slack_bytes = 512 * 1024;
  // Nesting of arrays/maps. 64 nested txns take about 200 levels.
  std::size_t max_depth = 256;
  // Declared array elements + map entries in one frame; keeps msgpack-cxx's object
  // allocation (24 bytes each) well below the frame's own size limit times 24.
  std::size_t max_elements = 256 * 1024;

  std::size_t max_frame_bytes() const { return max_request_bytes + slack_bytes; }
};

// A request [0, msgid, method, params].
struct RequestFrame {
  uint32_t msgid = 0;
  std::string method;
  msgpack::object body;  // MAP, or NIL for params [] / [nil]
  // params[1]'s `token` ([body, {token}]): the auth token the caller presents, as etcd's
  // clients send one in each call's metadata. nullopt: none given.
  std::optional<std::string> token;
  // params[1]'s `forwarded: true`: a cluster member forwarded this request from its own
  // client (docs/CLUSTER.md "Forwarding"); a member that does not lead refuses such a
  // request instead of forwarding it again.
  bool forwarded = false;
  msgpack::object_handle handle;  // owns the memory `body` points into
};

// A frame that cannot be served: answer `[1, msgid, error, nil]`, then close the
// connection if `close` (the stream cannot be resynchronised).
struct FrameError {
  uint32_t msgid = 0;  // 0 when the frame's msgid could not be read
  WireError error;
  bool close = false;
};

using Frame = std::variant<RequestFrame, FrameError>;

class FrameDecoder {
 public:
  explicit FrameDecoder(FrameLimits limits = {});

  // Appends received bytes. After a closing FrameError the input is dropped.
  void feed(std::string_view bytes);

  // The next complete frame, or nullopt when more bytes are needed (or after a closing
  // error). Responses and notifications sent by a client are skipped.
  std::optional<Frame> next();

  bool closed() const { return closed_; }
  // Bytes received and not yet returned as frames.
  std::size_t buffered() const { return buffer_.size() - head_; }

 private:
  enum class Scan { need_more, complete, malformed, too_large };
  Scan scan();
  std::optional<Frame> interpret(std::string_view frame);
  FrameError closing(WireError error);
  void reset_scan();

  FrameLimits limits_;
  std::string buffer_;
  std::size_t head_ = 0;  // start of the current frame in buffer_
  bool closed_ = false;

  // Scan state of the current frame, kept across feed() calls so that a frame arriving
  // in small pieces is scanned once, not once per piece.
  std::size_t pos_ = 0;            // bytes of the current frame scanned
  std::vector<uint64_t> pending_;  // elements still expected by each open container
  std::size_t top_size_ = 0;       // element count of the frame's top-level array
  std::size_t params_start_ = 0;   // offset of the 4th top-level element, 0 = not seen
  std::size_t elements_ = 0;       // declared elements so far
};

// Frame writers. `body` / `result` is one already encoded msgpack value (a map), written
// as it is; an empty `body` writes params [] (or [nil, meta] with a token or the
// `forwarded` mark).
void write_request(msgpack::sbuffer& out, uint32_t msgid, std::string_view method,
                   std::string_view body, std::optional<std::string_view> token = std::nullopt,
                   bool forwarded = false);
void write_result(msgpack::sbuffer& out, uint32_t msgid, std::string_view result);
void write_error(msgpack::sbuffer& out, uint32_t msgid, const WireError& error);
void write_notification(msgpack::sbuffer& out, std::string_view method, std::string_view body);

}  // namespace revkv::protocol
