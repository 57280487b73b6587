#include "actors/state_change.hpp"

#include "util/little_endian.hpp"

namespace revkv::actors {
namespace {

constexpr std::string_view kTag = "rkvchg01";
constexpr size_t kHeader = 8 + 3 * 8;

using util::get_u64_le;
using util::put_u64_le;

}  // namespace

std::string encode_state_change(const StateChange& change) {
  std::string out;
  out.reserve(kHeader + change.payload.size());
  out.append(kTag);
  put_u64_le(out, change.proposer);
  put_u64_le(out, change.incarnation);
  put_u64_le(out, static_cast<uint64_t>(change.kind));
  out.append(change.payload);
  return out;
}

std::string encode_compaction_payload(int64_t revision) {
  std::string out;
  put_u64_le(out, static_cast<uint64_t>(revision));
  return out;
}

std::optional<int64_t> decode_compaction_payload(std::string_view payload) {
  if (payload.size() != 8) return std::nullopt;
  return static_cast<int64_t>(get_u64_le(payload));
}

std::string encode_alarm_payload(const AlarmChange& change) {
  std::string out(1, change.raised ? '\1' : '\0');
  put_u64_le(out, change.raised ? change.member : 0);
  return out;
}

std::optional<AlarmChange> decode_alarm_payload(std::string_view payload) {
  if (payload.size() != 9 || (payload[0] != '\0' && payload[0] != '\1')) return std::nullopt;
  AlarmChange out;
  out.raised = payload[0] == '\1';
  out.member = get_u64_le(payload.substr(1));
  if (out.raised == (out.member == 0)) return std::nullopt;  // raised by someone, or cleared
  return out;
}

std::optional<StateChange> decode_state_change(std::string_view bytes) {
  if (bytes.size() < kHeader || bytes.substr(0, kTag.size()) != kTag) return std::nullopt;
  StateChange out;
  out.proposer = get_u64_le(bytes.substr(8));
  out.incarnation = get_u64_le(bytes.substr(16));
  out.kind = static_cast<ChangeKind>(get_u64_le(bytes.substr(24)));
  out.payload = bytes.substr(kHeader);
  return out;
}

}  // namespace revkv::actors

namespace revkv::actors {

std::string encode_removal_payload(uint64_t id) {
  std::string out;
  util::put_u64_le(out, id);
  return out;
}

std::optional<uint64_t> decode_removal_payload(std::string_view payload) {
  if (payload.size() != 8) return std::nullopt;
  return util::get_u64_le(payload);
}

std::string member_removed_key(uint64_t id) {
  std::string key = "member_removed/";
  util::put_u64_le(key, id);
  return key;
}

}  // namespace revkv::actors
