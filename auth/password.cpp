#include "auth/password.hpp"

#include <array>
#include <crypt.h>
#include <cstring>
#include <memory>
#include <sys/random.h>

namespace revkv::auth {

namespace {

// bcrypt uses the first 72 bytes only. crypt_r takes a C string, so a password is also
// cut at its first NUL byte (Go's bcrypt would hash the bytes after it; etcdctl cannot
// send one from a terminal).
std::string phrase(std::string_view password) {
  return std::string(password.substr(0, kBcryptMaxPasswordBytes));
}

bool random_bytes(char* out, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = getrandom(out + got, n - got, 0);
    if (r <= 0) return false;
    got += static_cast<size_t>(r);
  }
  return true;
}

// crypt_data is large (~32 KiB): on the heap, not on a gRPC thread's stack.
std::unique_ptr<crypt_data> fresh_crypt_data() {
  auto data = std::make_unique<crypt_data>();
  std::memset(data.get(), 0, sizeof(crypt_data));
  return data;
}

}  // namespace

std::optional<std::string> hash_password(std::string_view password, int cost) {
  std::array<char, 16> entropy{};
  if (!random_bytes(entropy.data(), entropy.size())) return std::nullopt;
  std::array<char, CRYPT_GENSALT_OUTPUT_SIZE> setting{};
  if (!crypt_gensalt_rn("$2b$", static_cast<unsigned long>(cost), entropy.data(),
                        static_cast<int>(entropy.size()), setting.data(),
                        static_cast<int>(setting.size()))) {
    return std::nullopt;
  }
  auto data = fresh_crypt_data();
  std::string p = phrase(password);
  const char* hashed = crypt_r(p.c_str(), setting.data(), data.get());
  // libxcrypt answers a failure with a string starting with '*', never a valid hash.
  if (!hashed || hashed[0] != '$') return std::nullopt;
  return std::string(hashed);
}

bool check_password(std::string_view hash, std::string_view password) {
  if (hash.empty() || hash[0] != '$') return false;
  auto data = fresh_crypt_data();
  std::string p = phrase(password);
  std::string setting(hash);
  const char* again = crypt_r(p.c_str(), setting.c_str(), data.get());
  if (!again || again[0] != '$') return false;
  // Constant-time comparison: how many leading bytes match must not show in the timing.
  size_t n = std::strlen(again);
  if (n != hash.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < n; ++i)
    diff |= static_cast<unsigned char>(again[i] ^ hash[i]);
  return diff == 0;
}

}  // namespace revkv::auth
