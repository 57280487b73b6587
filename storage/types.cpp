#include "storage/types.hpp"

namespace revkv::storage {

KeyRange KeyRange::from_request(const std::string& key, const std::optional<std::string>& end) {
  if (!end.has_value() || end->empty()) return KeyRange{key, std::nullopt};
  if (*end == std::string(1, '\0')) return KeyRange{key, std::string{}};
  return KeyRange{key, *end};
}

bool KeyRange::contains(const std::string& k) const {
  if (!end.has_value()) return k == start;
  if (k < start) return false;
  return end->empty() || k < *end;
}

std::string prefix_end(std::string prefix) {
  while (!prefix.empty() && static_cast<uint8_t>(prefix.back()) == 0xff)
    prefix.pop_back();
  if (prefix.empty()) return std::string(1, '\0');
  prefix.back() = static_cast<char>(static_cast<uint8_t>(prefix.back()) + 1);
  return prefix;
}

}  // namespace revkv::storage
