#include "actors/replicated_entry.hpp"

#include "util/little_endian.hpp"

namespace revkv::actors {
namespace {

// A version tag first, so that a later format is refused rather than misread. Version 02,
// the same header without the count of new keys, is still read: a log written by an earlier
// revkvd is applied again after a restart.
constexpr std::string_view kTag = "rkvent03";
constexpr std::string_view kTagWithoutNewKeys = "rkvent02";
constexpr size_t kHeader = 8 + 5 * 8;
constexpr size_t kHeaderWithoutNewKeys = 8 + 4 * 8;

using util::get_u64_le;
using util::put_u64_le;

}  // namespace

std::string encode_replicated_entry(const ReplicatedEntry& entry) {
  std::string out;
  out.reserve(kHeader + entry.batch.size());
  out.append(kTag.data(), 8);
  put_u64_le(out, entry.proposer);
  put_u64_le(out, entry.incarnation);
  put_u64_le(out, static_cast<uint64_t>(entry.last_revision));
  put_u64_le(out, entry.shards);
  put_u64_le(out, static_cast<uint64_t>(entry.latest_new_keys));
  out.append(entry.batch);
  return out;
}

std::optional<ReplicatedEntry> decode_replicated_entry(std::string_view bytes) {
  const auto tag = bytes.substr(0, 8);
  const bool with_new_keys = tag == kTag;
  const size_t header = with_new_keys ? kHeader : kHeaderWithoutNewKeys;
  if (bytes.size() < header || (!with_new_keys && tag != kTagWithoutNewKeys)) return std::nullopt;
  ReplicatedEntry out;
  out.proposer = get_u64_le(bytes.substr(8));
  out.incarnation = get_u64_le(bytes.substr(16));
  out.last_revision = static_cast<int64_t>(get_u64_le(bytes.substr(24)));
  out.shards = get_u64_le(bytes.substr(32));
  if (with_new_keys) out.latest_new_keys = static_cast<int64_t>(get_u64_le(bytes.substr(40)));
  out.batch = bytes.substr(header);
  return out;
}

}  // namespace revkv::actors
