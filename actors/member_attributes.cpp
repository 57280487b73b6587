#include "actors/member_attributes.hpp"

#include "util/little_endian.hpp"

namespace revkv::actors {
namespace {

using util::get_u64_le;
using util::put_u64_le;

// Version 2 appends `catchup`; version 1 records (persisted, or in a log written before)
// still decode.
constexpr uint64_t kFirstVersion = 1;
constexpr uint64_t kVersion = 2;

void put_string(std::string& out, std::string_view s) {
  put_u64_le(out, s.size());
  out.append(s);
}

bool get_u64(std::string_view& in, uint64_t& v) {
  if (in.size() < 8) return false;
  v = get_u64_le(in);
  in.remove_prefix(8);
  return true;
}

bool get_string(std::string_view& in, std::string& s) {
  uint64_t n = 0;
  if (!get_u64(in, n) || n > in.size()) return false;
  s.assign(in.substr(0, n));
  in.remove_prefix(n);
  return true;
}

}  // namespace

std::string encode_member_attributes(const MemberAttributes& a) {
  std::string out;
  put_u64_le(out, kVersion);
  put_u64_le(out, a.id);
  put_string(out, a.name);
  put_string(out, a.client);
  put_string(out, a.grpc);
  put_u64_le(out, a.tls ? 1 : 0);
  put_string(out, a.catchup);
  return out;
}

std::optional<MemberAttributes> decode_member_attributes(std::string_view in) {
  MemberAttributes a;
  uint64_t version = 0, tls = 0;
  if (!get_u64(in, version) || version < kFirstVersion || version > kVersion) return std::nullopt;
  if (!get_u64(in, a.id) || !get_string(in, a.name) || !get_string(in, a.client) ||
      !get_string(in, a.grpc) || !get_u64(in, tls) || tls > 1)
    return std::nullopt;
  if (version >= 2 && !get_string(in, a.catchup)) return std::nullopt;
  if (!in.empty()) return std::nullopt;
  a.tls = tls == 1;
  return a;
}

std::string member_attributes_key(uint64_t id) {
  std::string key = "member_attributes/";
  put_u64_le(key, id);
  return key;
}

}  // namespace revkv::actors
