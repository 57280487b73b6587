#include "util/sha256.hpp"

#include <openssl/evp.h>
#include <stdexcept>

namespace revkv::util {

// EVP calls fail only when OpenSSL cannot allocate or the algorithm is unavailable (a
// broken installation): there is no digest to return then, so they throw.
struct Sha256::Context {
  struct Free {
    void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
  };
  std::unique_ptr<EVP_MD_CTX, Free> md{EVP_MD_CTX_new()};
};

namespace {

void check(int ok, const char* what) {
  if (ok != 1) throw std::runtime_error(std::string("revkv: OpenSSL SHA-256: ") + what);
}

}  // namespace

Sha256::Sha256() : ctx_(std::make_unique<Context>()) {
  if (!ctx_->md) throw std::runtime_error("revkv: OpenSSL SHA-256: EVP_MD_CTX_new failed");
  check(EVP_DigestInit_ex(ctx_->md.get(), EVP_sha256(), nullptr), "EVP_DigestInit_ex failed");
}

Sha256::~Sha256() = default;
Sha256::Sha256(Sha256&&) noexcept = default;
Sha256& Sha256::operator=(Sha256&&) noexcept = default;

void Sha256::update(std::string_view data) {
  check(EVP_DigestUpdate(ctx_->md.get(), data.data(), data.size()), "EVP_DigestUpdate failed");
}

std::string Sha256::finish() {
  std::string out(EVP_MAX_MD_SIZE, '\0');
  unsigned int size = 0;
  check(EVP_DigestFinal_ex(ctx_->md.get(), reinterpret_cast<unsigned char*>(out.data()), &size),
        "EVP_DigestFinal_ex failed");
  out.resize(size);
  return out;
}

std::string to_hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  return out;
}

}  // namespace revkv::util
