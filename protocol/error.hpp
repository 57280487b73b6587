#pragma once

// The `error` object of a MessagePack-RPC response: {code, message} with the gRPC code
// etcd would return and etcd's text (docs/PROTOCOL.md "Errors").

#include "storage/error.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace revkv::protocol {

// gRPC codes used by the protocol layer itself (the engine's are storage::GrpcCode).
inline constexpr int64_t kCodeInvalidArgument = 3;
inline constexpr int64_t kCodeUnimplemented = 12;

struct WireError {
  int64_t code = 0;
  std::string message;
  friend bool operator==(const WireError&, const WireError&) = default;
};

WireError to_wire_error(const storage::Error& error);
WireError to_wire_error(storage::Errc code);
// code 3, "revkv: bad request: <what>"
WireError bad_request(std::string_view what);
// code 12, "revkv: unknown method <name>"
WireError unknown_method(std::string_view name);
// code 3, "revkv: bad request: malformed frame": the stream is closed after it.
WireError malformed_frame();
// etcd's ErrGRPCTooManyRequests (clientv3: rpctypes.ErrTooManyRequests): the answer to a
// call the node does not take now (a full door, a connection that does not read its
// answers).
WireError too_many_requests();

// A decoded value, or the error to answer instead.
template <class T>
class [[nodiscard]] Decoded {
 public:
  Decoded(T value) : v_(std::move(value)) {}          // NOLINT: implicit by design
  Decoded(WireError error) : v_(std::move(error)) {}  // NOLINT: implicit by design

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  const WireError& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, WireError> v_;
};

}  // namespace revkv::protocol
