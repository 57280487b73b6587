#include "storage/record.hpp"

#include "storage/protobuf_wire.hpp"

#include <cstdint>

namespace revkv::storage {
namespace {

using protobuf_wire::kLengthDelimited;
using protobuf_wire::kVarint;
using protobuf_wire::put_tag;
using protobuf_wire::put_varint;
using protobuf_wire::varint_size;

// proto3: zero-valued scalars and empty bytes are omitted.
void put_int64_field(std::string& out, uint32_t field, int64_t v) {
  if (v == 0) return;
  put_tag(out, field, kVarint);
  put_varint(out, static_cast<uint64_t>(v));
}

void put_bytes_field(std::string& out, uint32_t field, std::string_view v) {
  if (v.empty()) return;
  put_tag(out, field, kLengthDelimited);
  put_varint(out, v.size());
  out.append(v);
}

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool done() const { return pos_ == in_.size(); }

  bool varint(uint64_t& v) {
    v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= in_.size()) return false;
      auto b = static_cast<uint8_t>(in_[pos_++]);
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) return true;
    }
    return false;
  }

  bool bytes(std::string_view& v) {
    uint64_t n = 0;
    if (!varint(n) || n > in_.size() - pos_) return false;
    v = in_.substr(pos_, n);
    pos_ += n;
    return true;
  }

  // Skips a field of an unknown number, as protobuf readers must.
  bool skip(uint32_t wire_type) {
    uint64_t ignored = 0;
    std::string_view ignored_bytes;
    switch (wire_type) {
      case kVarint:
        return varint(ignored);
      case kLengthDelimited:
        return bytes(ignored_bytes);
      case 1:
        return advance(8);
      case 5:
        return advance(4);
      default:
        return false;
    }
  }

 private:
  bool advance(size_t n) {
    if (n > in_.size() - pos_) return false;
    pos_ += n;
    return true;
  }

  std::string_view in_;
  size_t pos_ = 0;
};

}  // namespace

void encode_key_value_into(const KeyValue& kv, std::string& out) {
  put_bytes_field(out, 1, kv.key);
  put_int64_field(out, 2, kv.create_revision);
  put_int64_field(out, 3, kv.mod_revision);
  put_int64_field(out, 4, kv.version);
  put_bytes_field(out, 5, kv.value);
  put_int64_field(out, 6, kv.lease);
}

std::string encode_key_value(const KeyValue& kv) {
  std::string out;
  out.reserve(kv.key.size() + kv.value.size() + 40);
  encode_key_value_into(kv, out);
  return out;
}

std::string encode_key_value_without_key(const KeyValue& kv) {
  std::string out;
  out.reserve(kv.value.size() + 40);
  put_int64_field(out, 2, kv.create_revision);
  put_int64_field(out, 3, kv.mod_revision);
  put_int64_field(out, 4, kv.version);
  put_bytes_field(out, 5, kv.value);
  put_int64_field(out, 6, kv.lease);
  return out;
}

size_t encoded_key_field_size(const KeyValue& kv) {
  if (kv.key.empty()) return 0;
  return 1 + varint_size(kv.key.size()) + kv.key.size();  // the tag of field 1 fits one byte
}

size_t encoded_key_value_size(const KeyValue& kv) {
  // Each tag of fields 1-6 fits one byte; a negative int64 is a 10-byte varint.
  auto scalar = [](int64_t v) { return v == 0 ? 0 : 1 + varint_size(static_cast<uint64_t>(v)); };
  auto bytes = [](size_t n) { return n == 0 ? 0 : 1 + varint_size(n) + n; };
  return bytes(kv.key.size()) + scalar(kv.create_revision) + scalar(kv.mod_revision) +
         scalar(kv.version) + bytes(kv.value.size()) + scalar(kv.lease);
}

std::optional<KeyValue> decode_key_value(std::string_view bytes, bool with_value) {
  KeyValue kv;
  Reader r(bytes);
  while (!r.done()) {
    uint64_t tag = 0;
    if (!r.varint(tag)) return std::nullopt;
    auto field = static_cast<uint32_t>(tag >> 3);
    auto wire = static_cast<uint32_t>(tag & 7);
    uint64_t n = 0;
    std::string_view s;
    if ((field == 1 || field == 5) && wire == kLengthDelimited) {
      if (!r.bytes(s)) return std::nullopt;
      if (field == 1) {
        kv.key.assign(s);
      } else if (with_value) {
        kv.value.assign(s);
      }
    } else if (field >= 2 && field <= 6 && field != 5 && wire == kVarint) {
      if (!r.varint(n)) return std::nullopt;
      auto v = static_cast<int64_t>(n);
      if (field == 2) kv.create_revision = v;
      if (field == 3) kv.mod_revision = v;
      if (field == 4) kv.version = v;
      if (field == 6) kv.lease = v;
    } else if (!r.skip(wire)) {
      return std::nullopt;
    }
  }
  return kv;
}

std::string encode_lease_record(const LeaseRecord& lease) {
  std::string out;
  put_int64_field(out, 1, lease.id);
  put_int64_field(out, 2, lease.ttl);
  put_int64_field(out, 3, lease.remaining_ttl);
  return out;
}

std::optional<LeaseRecord> decode_lease_record(std::string_view bytes) {
  LeaseRecord lease;
  Reader r(bytes);
  while (!r.done()) {
    uint64_t tag = 0;
    if (!r.varint(tag)) return std::nullopt;
    auto field = static_cast<uint32_t>(tag >> 3);
    auto wire = static_cast<uint32_t>(tag & 7);
    uint64_t n = 0;
    if (field >= 1 && field <= 3 && wire == kVarint) {
      if (!r.varint(n)) return std::nullopt;
      auto v = static_cast<int64_t>(n);
      if (field == 1) lease.id = v;
      if (field == 2) lease.ttl = v;
      if (field == 3) lease.remaining_ttl = v;
    } else if (!r.skip(wire)) {
      return std::nullopt;
    }
  }
  return lease;
}

std::string encode_lease_key(int64_t id) {
  std::string out;
  auto u = static_cast<uint64_t>(id);
  for (int shift = 56; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((u >> shift) & 0xff));
  return out;
}

std::optional<int64_t> decode_lease_key(std::string_view bytes) {
  if (bytes.size() != 8) return std::nullopt;
  uint64_t u = 0;
  for (char c : bytes)
    u = (u << 8) | static_cast<uint8_t>(c);
  return static_cast<int64_t>(u);
}

}  // namespace revkv::storage
