#pragma once

// A node's result body decoded as the reply type of the call that asked for it: what the
// client's typed calls return, and what a cluster member's forwarder relays
// (apps/revkvd/forwarder.cpp).

#include "client/socket.hpp"
#include "protocol/codec.hpp"

#include <type_traits>
#include <utility>

namespace revkv::client {
namespace detail {

template <class T>
struct IsKvResponse : std::false_type {};
template <class T>
struct IsKvResponse<protocol::KvResponse<T>> : std::true_type {
  using Inner = T;
};

}  // namespace detail

template <class Resp>
Result<Resp> decode_result(const msgpack::object& body) {
  auto decoded = [&] {
    if constexpr (detail::IsKvResponse<Resp>::value)
      return protocol::decode_kv_response<typename detail::IsKvResponse<Resp>::Inner>(body);
    else
      return protocol::decode_body<Resp>(body);
  }();
  // The codec words its errors for requests ("bad request"); here the node is at fault.
  if (!decoded)
    return protocol::WireError{kCodeInternal, "revkv: bad response: " + decoded.error().message};
  return std::move(decoded).value();
}

}  // namespace revkv::client
