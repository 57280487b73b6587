#include "cluster/snapshot_header.hpp"

namespace revkv::cluster {

namespace {

// Names the format, so that a buffer from another program or a later format is refused
// instead of being read as an index.
constexpr std::string_view kTag = "rkvsnap1";
constexpr std::size_t kIndexBytes = 8;

}  // namespace

std::string encode_snapshot(const SnapshotHeader& header) {
  std::string out(kTag);
  for (std::size_t i = 0; i < kIndexBytes; ++i) {
    out.push_back(static_cast<char>((header.applied_index >> (8 * i)) & 0xff));  // little-endian
  }
  out += header.descriptor;
  return out;
}

std::optional<SnapshotHeader> decode_snapshot(std::string_view bytes) {
  if (bytes.size() < kTag.size() + kIndexBytes || bytes.substr(0, kTag.size()) != kTag) {
    return std::nullopt;
  }
  SnapshotHeader header;
  for (std::size_t i = 0; i < kIndexBytes; ++i) {
    header.applied_index |=
        static_cast<std::uint64_t>(static_cast<unsigned char>(bytes[kTag.size() + i])) << (8 * i);
  }
  header.descriptor = std::string(bytes.substr(kTag.size() + kIndexBytes));
  return header;
}

}  // namespace revkv::cluster
