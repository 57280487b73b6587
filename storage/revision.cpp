#include "storage/revision.hpp"

namespace revkv::storage {
namespace {

void put_be64(std::string& out, int64_t v) {
  auto u = static_cast<uint64_t>(v);
  for (int shift = 56; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((u >> shift) & 0xff));
}

int64_t get_be64(std::string_view in) {
  uint64_t u = 0;
  for (size_t i = 0; i < 8; ++i)
    u = (u << 8) | static_cast<uint8_t>(in[i]);
  return static_cast<int64_t>(u);
}

}  // namespace

std::string encode_revision_key(Revision rev, bool tombstone) {
  std::string out;
  out.reserve(kTombstoneKeySize);
  put_be64(out, rev.main);
  out.push_back(kRevisionSeparator);
  put_be64(out, rev.sub);
  if (tombstone) out.push_back(kTombstoneMarker);
  return out;
}

std::optional<DecodedRevisionKey> decode_revision_key(std::string_view bytes) {
  if (bytes.size() != kRevisionKeySize && bytes.size() != kTombstoneKeySize) return std::nullopt;
  if (bytes[8] != kRevisionSeparator) return std::nullopt;
  bool tombstone = bytes.size() == kTombstoneKeySize;
  if (tombstone && bytes[17] != kTombstoneMarker) return std::nullopt;
  return DecodedRevisionKey{{get_be64(bytes.substr(0, 8)), get_be64(bytes.substr(9, 8))},
                            tombstone};
}

}  // namespace revkv::storage
