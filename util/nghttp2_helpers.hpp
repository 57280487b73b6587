#pragma once

// What every user of libnghttp2 in the project needs around its C API: owners for a session
// and a callbacks object, and a header entry. Header-only; its users link libnghttp2.

#include <cstdint>
#include <nghttp2/nghttp2.h>
#include <string_view>

namespace revkv::util {

struct Nghttp2SessionDeleter {
  void operator()(nghttp2_session* s) const { nghttp2_session_del(s); }
};
struct Nghttp2CallbacksDeleter {
  void operator()(nghttp2_session_callbacks* c) const { nghttp2_session_callbacks_del(c); }
};

// A header for nghttp2's submit functions, which copy names and values (no NO_COPY flag),
// so `name` and `value` need only live through the call.
inline nghttp2_nv nghttp2_header(std::string_view name, std::string_view value) {
  return {reinterpret_cast<uint8_t*>(const_cast<char*>(name.data())),
          reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())), name.size(), value.size(),
          NGHTTP2_NV_FLAG_NONE};
}

}  // namespace revkv::util
