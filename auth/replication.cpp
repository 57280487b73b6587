#include "auth/replication.hpp"

#include "util/little_endian.hpp"

namespace revkv::auth {
namespace {

constexpr char kRecords = 'r';
constexpr char kGrant = 't';

using util::get_u64_le;
using util::put_u64_le;

}  // namespace

std::string encode_records_payload(std::string_view batch) {
  std::string out(1, kRecords);
  out.append(batch);
  return out;
}

std::string encode_grant_payload(const TokenGrant& grant) {
  std::string out(1, kGrant);
  put_u64_le(out, grant.revision);
  put_u64_le(out, grant.prefix.size());
  out.append(grant.prefix);
  out.append(grant.user);
  return out;
}

std::optional<AuthPayload> decode_auth_payload(std::string_view bytes) {
  if (bytes.empty()) return std::nullopt;
  AuthPayload out;
  if (bytes[0] == kRecords) {
    out.records = bytes.substr(1);
    return out;
  }
  if (bytes[0] != kGrant || bytes.size() < 17) return std::nullopt;
  TokenGrant grant;
  grant.revision = get_u64_le(bytes.substr(1));
  uint64_t prefix = get_u64_le(bytes.substr(9));
  if (prefix > bytes.size() - 17) return std::nullopt;
  grant.prefix = std::string(bytes.substr(17, prefix));
  grant.user = std::string(bytes.substr(17 + prefix));
  out.grant = std::move(grant);
  return out;
}

}  // namespace revkv::auth
