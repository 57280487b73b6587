#include "etcdapi/grpc_compression.hpp"

#include <algorithm>
#include <limits>
#include <memory>
#include <zlib.h>

namespace revkv::etcdapi {

namespace {

constexpr int kInternal = 13;
constexpr int kResourceExhausted = 8;
constexpr size_t kChunk = 64u << 10;

// zlib's stream, ended however inflating ends.
struct InflateStream {
  z_stream z{};
  bool open = false;
  ~InflateStream() {
    if (open) inflateEnd(&z);
  }
};

Inflated failed(std::string_view why) {
  return {{}, kInternal, "grpc: failed to decompress the received message: " + std::string(why)};
}

}  // namespace

std::optional<GrpcEncoding> grpc_encoding(std::string_view name) {
  if (name == "identity") return GrpcEncoding::identity;
  if (name == "gzip") return GrpcEncoding::gzip;
  if (name == "deflate") return GrpcEncoding::deflate;
  return std::nullopt;
}

Inflated inflate_grpc_message(GrpcEncoding encoding, std::string_view compressed,
                              size_t max_bytes) {
  if (encoding == GrpcEncoding::identity) return {std::string(compressed), 0, {}};
  InflateStream s;
  // gzip: a gzip wrapper (15 + 16); gRPC's deflate is zlib's format (15).
  const int window_bits = encoding == GrpcEncoding::gzip ? 15 + 16 : 15;
  if (inflateInit2(&s.z, window_bits) != Z_OK) return failed("zlib could not start");
  s.open = true;
  // gRPC's length prefix is 32 bits: a message always fits zlib's uInt.
  if (compressed.size() > std::numeric_limits<uInt>::max()) return failed("message too long");
  s.z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(compressed.data()));
  s.z.avail_in = static_cast<uInt>(compressed.size());
  Inflated out;
  for (;;) {
    // Up to the limit, then one byte beyond it, which tells a message over it from one
    // exactly at it (written so that no sum can overflow).
    const size_t before = out.bytes.size();
    const size_t grow = std::max<size_t>(1, std::min(kChunk, max_bytes - before));
    out.bytes.resize(before + grow);
    s.z.next_out = reinterpret_cast<Bytef*>(out.bytes.data() + before);
    s.z.avail_out = static_cast<uInt>(grow);
    const int rc = inflate(&s.z, Z_NO_FLUSH);
    out.bytes.resize(before + grow - s.z.avail_out);
    if (out.bytes.size() > max_bytes) {
      return {{},
              kResourceExhausted,
              "grpc: received message after decompression larger than max (" +
                  std::to_string(out.bytes.size()) + " vs. " + std::to_string(max_bytes) + ")"};
    }
    if (rc == Z_STREAM_END) {
      if (s.z.avail_in != 0) return failed("bytes after the end of the compressed data");
      return out;
    }
    if (rc == Z_BUF_ERROR && s.z.avail_in == 0) return failed("unexpected EOF");
    if (rc != Z_OK && rc != Z_BUF_ERROR) return failed(s.z.msg ? s.z.msg : "invalid data");
  }
}

}  // namespace revkv::etcdapi
