#pragma once

// How a proposed entry is laid out in the Raft log: an 8-byte little-endian length, the
// bytes, zero padding up to a multiple of 8.
//
// Why: libraft 0.15 hands a member that has just installed a snapshot entries at shifted
// offsets when their lengths are not multiples of 8 (tests/cluster reproduces it: the bytes
// of neighbouring entries run into each other). Entries that are already 8-byte multiples
// are delivered intact, and the length and the zero padding let every member check what it
// applies instead of applying garbage.

#include <optional>
#include <string>
#include <string_view>

namespace revkv::cluster {

// The framed size of a payload of `payload_size` bytes.
std::size_t framed_size(std::size_t payload_size);

// Writes the frame of `payload` to `out`, which has framed_size(payload.size()) bytes.
void write_frame(std::string_view payload, char* out);

// The payload of a frame; nullopt if `frame` is not one (wrong length, non-zero padding).
std::optional<std::string_view> read_frame(std::string_view frame);

}  // namespace revkv::cluster
