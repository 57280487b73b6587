#include "cluster/entry_frame.hpp"

#include <cstdint>
#include <cstring>

namespace revkv::cluster {

namespace {
constexpr std::size_t kHeader = 8;
constexpr std::size_t kAlign = 8;
}  // namespace

std::size_t framed_size(std::size_t payload_size) {
  return kHeader + (payload_size + kAlign - 1) / kAlign * kAlign;
}

void write_frame(std::string_view payload, char* out) {
  std::uint64_t n = payload.size();
  for (std::size_t i = 0; i < kHeader; ++i)
    out[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  std::memcpy(out + kHeader, payload.data(), payload.size());
  std::memset(out + kHeader + payload.size(), 0,
              framed_size(payload.size()) - kHeader - payload.size());
}

std::optional<std::string_view> read_frame(std::string_view frame) {
  if (frame.size() < kHeader) return std::nullopt;
  std::uint64_t n = 0;
  for (std::size_t i = 0; i < kHeader; ++i) {
    n |= static_cast<std::uint64_t>(static_cast<unsigned char>(frame[i])) << (8 * i);
  }
  if (n > frame.size() - kHeader || framed_size(n) != frame.size()) return std::nullopt;
  for (std::size_t i = kHeader + n; i < frame.size(); ++i) {
    if (frame[i] != '\0') return std::nullopt;
  }
  return frame.substr(kHeader, n);
}

}  // namespace revkv::cluster
