#pragma once

// Compressed request messages on revkv's own HTTP/2 door: gRPC's `gzip` and `deflate`
// message encodings, inflated with zlib (gRPC's own server, which the door replaced for
// these calls, accepts both). A client announces its encoding in `grpc-encoding` and sets
// the compressed flag of each compressed message. Answers always go uncompressed (flag 0),
// which every gRPC client reads whatever it asked for.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace revkv::etcdapi {

enum class GrpcEncoding : uint8_t { identity, gzip, deflate };

// The encoding a `grpc-encoding` value names; nullopt for one the door cannot inflate.
std::optional<GrpcEncoding> grpc_encoding(std::string_view name);

// What the door accepts: its answers' `grpc-accept-encoding`.
inline constexpr std::string_view kGrpcAcceptEncoding = "identity,deflate,gzip";

struct Inflated {
  std::string bytes;
  // Not inflated: `code` is the gRPC status and `message` its text, as grpc-go words them
  // (Internal for a body that is not what its encoding says, ResourceExhausted for one
  // that inflates beyond the limit; inflating stops there, so a small bomb costs nothing).
  int code = 0;
  std::string message;
};

// Inflates one message of `encoding` (gzip or deflate) into at most `max_bytes`.
Inflated inflate_grpc_message(GrpcEncoding encoding, std::string_view compressed, size_t max_bytes);

}  // namespace revkv::etcdapi
