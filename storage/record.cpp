#include "storage/record.hpp"

#include <cstdint>

namespace revkv::storage {
namespace {

// Protobuf wire types.
constexpr uint32_t kVarint = 0;
constexpr uint32_t kLengthDelimited = 2;

void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

void put_tag(std::string& out, uint32_t field, uint32_t wire_type) {
  put_varint(out, (static_cast<uint64_t>(field) << 3) | wire_type);
}

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
  size_t varint = 1;
  for (uint64_t n = kv.key.size(); n >= 0x80; n >>= 7)
    ++varint;
  return 1 + varint + kv.key.size();  // the tag of field 1 fits one byte
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
