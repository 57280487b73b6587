#include "util/utf8.hpp"

namespace revkv::util::utf8 {
namespace {

bool continuation(unsigned char c, unsigned char low = 0x80, unsigned char high = 0xbf) {
  return c >= low && c <= high;
}

}  // namespace

std::size_t sequence_length(std::string_view text, std::size_t i) {
  const auto at = [&](std::size_t k) -> unsigned char {
    return i + k < text.size() ? static_cast<unsigned char>(text[i + k]) : 0;
  };
  const unsigned char b0 = at(0);
  if (b0 < 0x80) return 1;
  if (b0 >= 0xc2 && b0 <= 0xdf) return continuation(at(1)) ? 2 : 0;
  if (b0 >= 0xe0 && b0 <= 0xef) {
    const unsigned char low = b0 == 0xe0 ? 0xa0 : 0x80;
    const unsigned char high = b0 == 0xed ? 0x9f : 0xbf;
    return continuation(at(1), low, high) && continuation(at(2)) ? 3 : 0;
  }
  if (b0 >= 0xf0 && b0 <= 0xf4) {
    const unsigned char low = b0 == 0xf0 ? 0x90 : 0x80;
    const unsigned char high = b0 == 0xf4 ? 0x8f : 0xbf;
    return continuation(at(1), low, high) && continuation(at(2)) && continuation(at(3)) ? 4 : 0;
  }
  return 0;
}

bool valid(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    // Runs of ASCII (names, messages) take the short way.
    if (static_cast<unsigned char>(text[i]) < 0x80) {
      ++i;
      continue;
    }
    const std::size_t length = sequence_length(text, i);
    if (length == 0) return false;
    i += length;
  }
  return true;
}

std::string with_replacements(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t length = sequence_length(text, i);
    if (length == 0) {
      out += "\xef\xbf\xbd";
      ++i;
    } else {
      out.append(text.substr(i, length));
      i += length;
    }
  }
  return out;
}

}  // namespace revkv::util::utf8
