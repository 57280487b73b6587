#pragma once

// SHA-256 over OpenSSL's libcrypto (EVP): the node digests the snapshot it streams, chunk
// by chunk, and revkvctl checks a saved one against that digest. A thin RAII wrapper so
// that callers need neither OpenSSL's headers nor its error handling.

#include <memory>
#include <string>
#include <string_view>

namespace revkv::util {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(Sha256&&) noexcept;
  Sha256& operator=(Sha256&&) noexcept;
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void update(std::string_view data);
  // The 32-byte digest; the object is spent afterwards.
  std::string finish();

 private:
  struct Context;
  std::unique_ptr<Context> ctx_;
};

std::string to_hex(std::string_view bytes);

}  // namespace revkv::util
