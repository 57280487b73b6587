#pragma once

// Revision pairs and their durable key encoding (SPEC §1.5): 8-byte big-endian main,
// '_', 8-byte big-endian sub, and 't' for a tombstone. Byte order equals revision order,
// so a forward scan of the kv column family is a walk through history.

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace revkv::storage {

struct Revision {
  int64_t main = 0;
  int64_t sub = 0;

  friend auto operator<=>(const Revision&, const Revision&) = default;
};

// DO NOT CHANGE: embedded in the on-disk format.
inline constexpr size_t kRevisionKeySize = 17;
inline constexpr size_t kTombstoneKeySize = 18;
inline constexpr char kRevisionSeparator = '_';
inline constexpr char kTombstoneMarker = 't';

std::string encode_revision_key(Revision rev, bool tombstone = false);

struct DecodedRevisionKey {
  Revision rev;
  bool tombstone = false;
};
// nullopt when the bytes are not a revision key.
std::optional<DecodedRevisionKey> decode_revision_key(std::string_view bytes);

}  // namespace revkv::storage
