#include "auth/replication.hpp"

namespace revkv::auth {
namespace {

constexpr char kRecords = 'r';
constexpr char kGrant = 't';

void put_u64(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i)
    out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint64_t get_u64(std::string_view in) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i)
    v |= static_cast<uint64_t>(static_cast<unsigned char>(in[i])) << (8 * i);
  return v;
}

}  // namespace

std::string encode_records_payload(std::string_view batch) {
  std::string out(1, kRecords);
  out.append(batch);
  return out;
}

std::string encode_grant_payload(const TokenGrant& grant) {
  std::string out(1, kGrant);
  put_u64(out, grant.revision);
  put_u64(out, grant.prefix.size());
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
  grant.revision = get_u64(bytes.substr(1));
  uint64_t prefix = get_u64(bytes.substr(9));
  if (prefix > bytes.size() - 17) return std::nullopt;
  grant.prefix = std::string(bytes.substr(17, prefix));
  grant.user = std::string(bytes.substr(17 + prefix));
  out.grant = std::move(grant);
  return out;
}

}  // namespace revkv::auth
