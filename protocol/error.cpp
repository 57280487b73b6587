#include "protocol/error.hpp"

namespace revkv::protocol {

WireError to_wire_error(const storage::Error& error) {
  return WireError{static_cast<int64_t>(error.grpc()), error.message()};
}

WireError to_wire_error(storage::Errc code) {
  return to_wire_error(storage::Error{code});
}

WireError bad_request(std::string_view what) {
  return WireError{kCodeInvalidArgument, "revkv: bad request: " + std::string(what)};
}

WireError unknown_method(std::string_view name) {
  return WireError{kCodeUnimplemented, "revkv: unknown method " + std::string(name)};
}

WireError malformed_frame() {
  return bad_request("malformed frame");
}

WireError too_many_requests() {
  return WireError{8, "etcdserver: too many requests"};
}

}  // namespace revkv::protocol
