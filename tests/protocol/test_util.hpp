#pragma once

// Builders for hand-written msgpack bodies: the tests must be able to send what the
// encoder never would (wrong types, str instead of bin, unknown fields, two ops).

#include "protocol/codec.hpp"

#include <catch2/catch.hpp>

#include <msgpack.hpp>
#include <string>

namespace revkv::protocol::test {

struct Raw {  // already encoded msgpack, written as it is
  std::string bytes;
};
struct Bin {
  std::string bytes;
};
struct Nil {};

inline void put(msgpack::sbuffer& sb, const Raw& r) {
  sb.write(r.bytes.data(), r.bytes.size());
}
inline void put(msgpack::sbuffer& sb, const Bin& b) {
  Packer pk(sb);
  pk.pack_bin(static_cast<uint32_t>(b.bytes.size()));
  pk.pack_bin_body(b.bytes.data(), static_cast<uint32_t>(b.bytes.size()));
}
inline void put(msgpack::sbuffer& sb, const Nil&) {
  Packer(sb).pack_nil();
}
inline void put(msgpack::sbuffer& sb, const std::string& s) {
  Packer(sb).pack(s);
}  // str
inline void put(msgpack::sbuffer& sb, const char* s) {
  Packer(sb).pack(std::string(s));
}
template <class T>
void put(msgpack::sbuffer& sb, const T& v) {
  Packer(sb).pack(v);
}

// map("key", Bin{"a"}, "limit", 5) -> {"key": bin "a", "limit": 5}
template <class... T>
Raw map(const T&... kvs) {
  static_assert(sizeof...(T) % 2 == 0);
  msgpack::sbuffer sb;
  Packer(sb).pack_map(sizeof...(T) / 2);
  (put(sb, kvs), ...);
  return Raw{std::string(sb.data(), sb.size())};
}

template <class... T>
Raw array(const T&... items) {
  msgpack::sbuffer sb;
  Packer(sb).pack_array(sizeof...(T));
  (put(sb, items), ...);
  return Raw{std::string(sb.data(), sb.size())};
}

inline msgpack::object_handle unpack(const std::string& bytes) {
  return msgpack::unpack(bytes.data(), bytes.size());
}

template <class T>
Decoded<T> decode_bytes(const std::string& bytes) {
  auto oh = unpack(bytes);
  return decode_body<T>(oh.get());
}

// The error message of a body that must not decode ("" if it decoded).
template <class T>
std::string error_of(const Raw& body) {
  auto d = decode_bytes<T>(body.bytes);
  if (d.ok()) return "";
  CHECK(d.error().code == 3);
  return d.error().message;
}

}  // namespace revkv::protocol::test
