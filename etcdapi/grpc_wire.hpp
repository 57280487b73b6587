#pragma once

// gRPC's framing on HTTP/2, the parts revkv's own HTTP/2 door (etcdapi/h2_door.hpp) writes
// and reads itself: the 5-byte message prefix, the grpc-timeout header, the percent-encoded
// grpc-message trailer. What gRPC's PROTOCOL-HTTP2 document fixes, nothing of etcd's.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace revkv::etcdapi {

// A message as it goes on the wire: flag byte 0 (not compressed), the length big-endian,
// then the bytes.
std::string frame_grpc_message(std::string_view bytes);
// Appends the same to `out` (no intermediate string).
void append_grpc_message(std::string& out, std::string_view bytes);

// One message as it came: its bytes, still compressed when the flag says so.
struct GrpcMessage {
  std::string bytes;
  bool compressed = false;
};

// Splits a stream's DATA into messages, holding the unfinished one. A message longer than
// `max_bytes` is refused as soon as its prefix is seen, before its bytes are held.
class GrpcMessageReader {
 public:
  enum class Result { ok, too_large, compressed };

  explicit GrpcMessageReader(size_t max_bytes) : max_(max_bytes) {}
  // The stream named an encoding (grpc-encoding): messages may carry the compressed flag.
  // Otherwise one that does is refused (Result::compressed).
  void allow_compressed() { allow_compressed_ = true; }
  // Adds `data`; each finished message goes to `out`. After an error nothing more is read.
  Result feed(std::string_view data, std::vector<GrpcMessage>& out);
  // The length announced by the message that was refused as too large.
  uint64_t refused_length() const { return refused_; }
  // Bytes of an unfinished message (a stream ending here was cut short).
  bool partial() const { return !held_.empty(); }

 private:
  size_t max_;
  std::string held_;
  uint64_t refused_ = 0;
  bool failed_ = false;
  bool allow_compressed_ = false;
};

// grpc-timeout: 1 to 8 digits and a unit (H M S m u n); nullopt when malformed.
std::optional<std::chrono::nanoseconds> parse_grpc_timeout(std::string_view value);

// grpc-message's value: bytes outside printable ASCII, and '%', percent-encoded.
std::string percent_encode_grpc_message(std::string_view message);

}  // namespace revkv::etcdapi
