#pragma once

// Fixed-width little-endian integers in byte strings: the headers of the Raft entries
// revkv writes (actors/replicated_entry.cpp, actors/state_change.cpp) and of the auth
// payloads inside them (auth/replication.cpp). One encoding, so that every member reads
// every entry the same way whatever its CPU.

#include <cstdint>
#include <string>
#include <string_view>

namespace revkv::util {

inline void put_u64_le(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i)
    out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

// The first 8 bytes of `in` (the caller checked there are 8).
inline uint64_t get_u64_le(std::string_view in) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i)
    v |= static_cast<uint64_t>(static_cast<unsigned char>(in[i])) << (8 * i);
  return v;
}

}  // namespace revkv::util
