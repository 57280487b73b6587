#pragma once

// The few pieces of protobuf's wire format that revkv writes by hand: varints and field
// tags (https://protobuf.dev/programming-guides/encoding/). Used for the records etcd
// stores (storage/record.cpp) and for the gRPC door's Range answers
// (etcdapi/range_response_bytes.hpp), which must be byte-compatible with protobuf's own.

#include <cstddef>
#include <cstdint>
#include <string>

namespace revkv::storage::protobuf_wire {

// Protobuf wire types.
inline constexpr uint32_t kVarint = 0;
inline constexpr uint32_t kLengthDelimited = 2;

inline void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

inline size_t varint_size(uint64_t v) {
  size_t n = 1;
  for (; v >= 0x80; v >>= 7)
    ++n;
  return n;
}

inline void put_tag(std::string& out, uint32_t field, uint32_t wire_type) {
  put_varint(out, (static_cast<uint64_t>(field) << 3) | wire_type);
}

}  // namespace revkv::storage::protobuf_wire
