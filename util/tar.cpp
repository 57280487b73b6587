#include "util/tar.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

namespace revkv::util {
namespace fs = std::filesystem;
namespace {

constexpr std::size_t kBlock = 512;

void header(std::string& out, std::string_view name, char type, uint64_t size) {
  char h[kBlock] = {};
  std::memcpy(h, name.data(), std::min<std::size_t>(name.size(), 100));
  std::snprintf(h + 100, 8, "%07o", type == '5' ? 0755 : 0644);
  std::snprintf(h + 108, 8, "%07o", 0);
  std::snprintf(h + 116, 8, "%07o", 0);
  std::snprintf(h + 124, 12, "%011llo", static_cast<unsigned long long>(size));
  std::snprintf(h + 136, 12, "%011o", 0);
  h[156] = type;
  std::memcpy(h + 257, "ustar", 6);  // magic "ustar\0"
  std::memcpy(h + 263, "00", 2);     // version
  std::memset(h + 148, ' ', 8);
  unsigned sum = 0;
  for (unsigned char c : h)
    sum += c;
  std::snprintf(h + 148, 8, "%06o", sum);
  out.append(h, kBlock);
}

void body(std::string& out, std::string_view data) {
  out.append(data);
  out.append((kBlock - data.size() % kBlock) % kBlock, '\0');
}

}  // namespace

void tar_append(std::string& out, std::string_view name, char type, std::string_view data) {
  if (name.size() > 100) {
    std::string long_name(name);
    long_name.push_back('\0');
    header(out, "././@LongLink", 'L', long_name.size());
    body(out, long_name);
  }
  header(out, name, type, data.size());
  body(out, data);
}

void tar_finish(std::string& out) {
  out.append(2 * kBlock, '\0');
}

std::string tar_directory(const std::string& dir, std::string& out) {
  std::error_code ec;
  std::vector<fs::path> entries;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    entries.push_back(it->path());
  if (ec) return "could not list " + dir + ": " + ec.message();
  std::sort(entries.begin(), entries.end());
  for (const auto& path : entries) {
    const std::string rel = path.lexically_relative(dir).generic_string();
    auto status = fs::symlink_status(path, ec);
    if (ec) return "could not stat " + path.string() + ": " + ec.message();
    if (fs::is_directory(status)) {
      tar_append(out, rel + "/", '5', {});
    } else if (fs::is_regular_file(status)) {
      std::ifstream in(path, std::ios::binary);
      std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      if (!in && !in.eof()) return "could not read " + path.string();
      tar_append(out, rel, '0', data);
    } else {
      return "not a regular file or directory: " + path.string();
    }
  }
  tar_finish(out);
  return {};
}

}  // namespace revkv::util
