#pragma once

// SHA-256 (FIPS 180-4): the node digests the snapshot it streams and revkvctl checks a
// saved one against that digest. OpenSSL is not a dependency of the project, and this is
// the only hash it needs.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace revkv::util {

class Sha256 {
 public:
  Sha256();
  void update(std::string_view data);
  // The 32-byte digest; the object is spent afterwards.
  std::string finish();

 private:
  void block(const unsigned char* p);

  std::array<uint32_t, 8> h_;
  std::array<unsigned char, 64> buf_{};
  std::size_t buffered_ = 0;
  uint64_t length_ = 0;  // bytes
};

std::string to_hex(std::string_view bytes);

}  // namespace revkv::util
