#include "etcdapi/grpc_wire.hpp"

#include <algorithm>

namespace revkv::etcdapi {

namespace {
constexpr size_t kPrefix = 5;

uint32_t read_be32(const char* p) {
  return (uint32_t{static_cast<uint8_t>(p[0])} << 24) |
         (uint32_t{static_cast<uint8_t>(p[1])} << 16) |
         (uint32_t{static_cast<uint8_t>(p[2])} << 8) | uint32_t{static_cast<uint8_t>(p[3])};
}
}  // namespace

void append_grpc_message(std::string& out, std::string_view bytes) {
  const auto n = static_cast<uint32_t>(bytes.size());
  const char prefix[kPrefix] = {0, static_cast<char>(n >> 24), static_cast<char>(n >> 16),
                                static_cast<char>(n >> 8), static_cast<char>(n)};
  out.append(prefix, kPrefix);
  out.append(bytes);
}

std::string frame_grpc_message(std::string_view bytes) {
  std::string out;
  out.reserve(kPrefix + bytes.size());
  append_grpc_message(out, bytes);
  return out;
}

GrpcMessageReader::Result GrpcMessageReader::feed(std::string_view data,
                                                  std::vector<GrpcMessage>& out) {
  if (failed_) return refused_ > 0 ? Result::too_large : Result::compressed;
  while (!data.empty()) {
    // The prefix first (it may come in pieces), then the message's bytes.
    if (held_.size() < kPrefix) {
      const size_t take = std::min(kPrefix - held_.size(), data.size());
      held_.append(data.substr(0, take));
      data.remove_prefix(take);
      if (held_.size() < kPrefix) break;
      // The flag: 0, or 1 (compressed) on a stream that named its encoding.
      if (held_[0] != 0 && !(held_[0] == 1 && allow_compressed_)) {
        failed_ = true;
        return Result::compressed;
      }
      const uint32_t length = read_be32(held_.data() + 1);
      if (length > max_) {
        failed_ = true;
        refused_ = length;
        return Result::too_large;
      }
    }
    const size_t length = read_be32(held_.data() + 1);
    const size_t take = std::min(kPrefix + length - held_.size(), data.size());
    held_.append(data.substr(0, take));
    data.remove_prefix(take);
    if (held_.size() == kPrefix + length) {
      out.push_back({held_.substr(kPrefix), held_[0] == 1});
      held_.clear();
    }
  }
  return Result::ok;
}

std::optional<std::chrono::nanoseconds> parse_grpc_timeout(std::string_view value) {
  if (value.size() < 2 || value.size() > 9) return std::nullopt;
  int64_t n = 0;
  for (char c : value.substr(0, value.size() - 1)) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + (c - '0');
  }
  // Eight digits of hours exceed int64 nanoseconds: such a timeout is clamped to a century.
  using namespace std::chrono;
  constexpr int64_t kCenturyHours = 24 * 365 * 100;
  switch (value.back()) {
    case 'H':
      return duration_cast<nanoseconds>(hours(std::min(n, kCenturyHours)));
    case 'M':
      return duration_cast<nanoseconds>(minutes(std::min(n, kCenturyHours * 60)));
    case 'S':
      return duration_cast<nanoseconds>(seconds(n));
    case 'm':
      return duration_cast<nanoseconds>(milliseconds(n));
    case 'u':
      return duration_cast<nanoseconds>(microseconds(n));
    case 'n':
      return nanoseconds(n);
    default:
      return std::nullopt;
  }
}

std::string percent_encode_grpc_message(std::string_view message) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(message.size());
  for (char c : message) {
    const auto b = static_cast<uint8_t>(c);
    if (b >= 0x20 && b <= 0x7e && b != '%') {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[b >> 4]);
      out.push_back(kHex[b & 0xf]);
    }
  }
  return out;
}

}  // namespace revkv::etcdapi
