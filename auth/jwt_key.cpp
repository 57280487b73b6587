#include "auth/jwt_key.hpp"

#include <array>
#include <fstream>
#include <iterator>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <vector>

namespace revkv::auth {
namespace {

enum class Family { hs, rs, ps, es };

struct Method {
  std::string_view name;
  Family family;
  int hash_bits;
  std::string_view curve;  // es only: OpenSSL's group name
};

constexpr std::array<Method, 12> kMethods = {{
    {"HS256", Family::hs, 256, {}},
    {"HS384", Family::hs, 384, {}},
    {"HS512", Family::hs, 512, {}},
    {"RS256", Family::rs, 256, {}},
    {"RS384", Family::rs, 384, {}},
    {"RS512", Family::rs, 512, {}},
    {"PS256", Family::ps, 256, {}},
    {"PS384", Family::ps, 384, {}},
    {"PS512", Family::ps, 512, {}},
    {"ES256", Family::es, 256, "prime256v1"},
    {"ES384", Family::es, 384, "secp384r1"},
    {"ES512", Family::es, 512, "secp521r1"},
}};

// RSA keys shorter than this are refused (etcd accepts any): 1024-bit RSA is within reach.
constexpr int kMinRsaBits = 2048;
constexpr size_t kMaxKeyFileBytes = 1 << 20;

const EVP_MD* digest(int bits) {
  switch (bits) {
    case 256:
      return EVP_sha256();
    case 384:
      return EVP_sha384();
    default:
      return EVP_sha512();
  }
}

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct BioFree {
  void operator()(BIO* p) const { BIO_free(p); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
};
struct EcdsaSigFree {
  void operator()(ECDSA_SIG* p) const { ECDSA_SIG_free(p); }
};
struct X509Free {
  void operator()(X509* p) const { X509_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;
using Bio = std::unique_ptr<BIO, BioFree>;
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;
using EcdsaSig = std::unique_ptr<ECDSA_SIG, EcdsaSigFree>;

// No passphrase: an encrypted key is refused instead of OpenSSL prompting on the terminal.
int no_passphrase(char*, int, int, void*) {
  return 0;
}

std::optional<std::string> read_file(const std::string& path, const char* option,
                                     std::string& error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = std::string("--auth-token: ") + option + ": cannot read " + path;
    return std::nullopt;
  }
  std::string bytes;
  std::array<char, 4096> chunk{};
  while (in.read(chunk.data(), chunk.size()) || in.gcount() > 0) {
    bytes.append(chunk.data(), static_cast<size_t>(in.gcount()));
    if (bytes.size() > kMaxKeyFileBytes) {
      error = std::string("--auth-token: ") + option + ": " + path + " is larger than 1 MiB";
      return std::nullopt;
    }
  }
  if (in.bad()) {
    error = std::string("--auth-token: ") + option + ": cannot read " + path;
    return std::nullopt;
  }
  return bytes;
}

Bio memory_bio(const std::string& bytes) {
  return Bio(BIO_new_mem_buf(bytes.data(), static_cast<int>(bytes.size())));
}

Pkey parse_private(const std::string& pem) {
  Bio bio = memory_bio(pem);
  if (!bio) return nullptr;
  return Pkey(PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr));
}

Pkey parse_public(const std::string& pem) {
  {
    Bio bio = memory_bio(pem);
    if (!bio) return nullptr;
    if (Pkey key{PEM_read_bio_PUBKEY(bio.get(), nullptr, no_passphrase, nullptr)}) return key;
  }
  ERR_clear_error();
  Bio bio = memory_bio(pem);
  if (!bio) return nullptr;
  std::unique_ptr<X509, X509Free> cert(
      PEM_read_bio_X509(bio.get(), nullptr, no_passphrase, nullptr));
  if (!cert) return nullptr;
  return Pkey(X509_get_pubkey(cert.get()));
}

// Empty when `key` suits `method`, else why not.
std::string key_mismatch(const Method& method, EVP_PKEY* key, const char* option) {
  std::string prefix =
      std::string("--auth-token: ") + option + ": sign-method " + std::string(method.name);
  int id = EVP_PKEY_get_base_id(key);
  if (method.family == Family::rs || method.family == Family::ps) {
    if (id != EVP_PKEY_RSA) return prefix + " needs an RSA key";
    if (EVP_PKEY_get_bits(key) < kMinRsaBits)
      return prefix + ": the RSA key has " + std::to_string(EVP_PKEY_get_bits(key)) +
             " bits, at least " + std::to_string(kMinRsaBits) + " are needed";
    return {};
  }
  if (id != EVP_PKEY_EC) return prefix + " needs an EC key";
  std::array<char, 64> group{};
  size_t len = 0;
  if (EVP_PKEY_get_group_name(key, group.data(), group.size(), &len) != 1 ||
      std::string_view(group.data(), len) != method.curve)
    return prefix + " needs an EC key on curve " + std::string(method.curve) + ", not " +
           std::string(group.data(), len);
  return {};
}

}  // namespace

struct JwtKey::Impl {
  Method method;
  std::string name;
  std::string secret;  // hs
  Pkey key;            // rs, ps, es: the private key, or only the public one
  bool can_sign = false;
  size_t es_half = 0;  // es: bytes of R (and of S) in the JWS form

  std::optional<std::string> hmac(std::string_view input) const {
    std::array<unsigned char, EVP_MAX_MD_SIZE> out{};
    unsigned int len = 0;
    if (!HMAC(digest(method.hash_bits), secret.data(), static_cast<int>(secret.size()),
              reinterpret_cast<const unsigned char*>(input.data()), input.size(), out.data(), &len))
      return std::nullopt;
    return std::string(reinterpret_cast<const char*>(out.data()), len);
  }

  // EVP_DigestSign/VerifyInit with the method's padding.
  MdCtx digest_context(bool signing) const {
    MdCtx ctx(EVP_MD_CTX_new());
    if (!ctx) return nullptr;
    EVP_PKEY_CTX* pctx = nullptr;
    const EVP_MD* md = digest(method.hash_bits);
    int ok = signing ? EVP_DigestSignInit(ctx.get(), &pctx, md, nullptr, key.get())
                     : EVP_DigestVerifyInit(ctx.get(), &pctx, md, nullptr, key.get());
    if (ok != 1) return nullptr;
    if (method.family == Family::ps) {
      // RFC 7518: a salt as long as the hash when signing; verifying accepts any salt
      // length, as Go's verifier (etcd's tokens use the longest salt that fits).
      if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
          EVP_PKEY_CTX_set_rsa_pss_saltlen(
              pctx, signing ? RSA_PSS_SALTLEN_DIGEST : RSA_PSS_SALTLEN_AUTO) != 1)
        return nullptr;
    }
    return ctx;
  }
};

JwtKey::JwtKey(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
JwtKey::~JwtKey() = default;

const std::string& JwtKey::method() const {
  return impl_->name;
}

bool JwtKey::can_sign() const {
  return impl_->can_sign;
}

std::variant<std::unique_ptr<JwtKey>, std::string> JwtKey::load(std::string_view name,
                                                                const std::string& pub_path,
                                                                const std::string& priv_path) {
  const Method* method = nullptr;
  for (const auto& m : kMethods)
    if (m.name == name) method = &m;
  if (!method)
    return "--auth-token: unknown sign-method '" + std::string(name) +
           "' (known: HS256/384/512, RS256/384/512, PS256/384/512, ES256/384/512)";
  auto impl = std::make_unique<Impl>();
  impl->method = *method;
  impl->name = std::string(name);
  std::string error;

  if (method->family == Family::hs) {
    // etcd's HMAC key is the priv-key file's bytes, as they are (no PEM).
    if (!pub_path.empty())
      return "--auth-token: pub-key: " + impl->name +
             " has no public key; the shared secret is priv-key";
    if (priv_path.empty()) return "--auth-token: " + impl->name + " needs priv-key= (the secret)";
    auto secret = read_file(priv_path, "priv-key", error);
    if (!secret) return error;
    if (secret->empty()) return "--auth-token: priv-key: " + priv_path + " is empty";
    impl->secret = std::move(*secret);
    impl->can_sign = true;
    return std::unique_ptr<JwtKey>(new JwtKey(std::move(impl)));
  }

  Pkey priv, pub;
  if (!priv_path.empty()) {
    auto pem = read_file(priv_path, "priv-key", error);
    if (!pem) return error;
    priv = parse_private(*pem);
    ERR_clear_error();
    if (!priv)
      return "--auth-token: priv-key: " + priv_path +
             " holds no PEM private key (or it is encrypted)";
    if (auto why = key_mismatch(*method, priv.get(), "priv-key"); !why.empty()) return why;
  }
  if (!pub_path.empty()) {
    auto pem = read_file(pub_path, "pub-key", error);
    if (!pem) return error;
    pub = parse_public(*pem);
    ERR_clear_error();
    if (!pub)
      return "--auth-token: pub-key: " + pub_path + " holds no PEM public key or certificate";
    if (auto why = key_mismatch(*method, pub.get(), "pub-key"); !why.empty()) return why;
  }
  if (priv && pub && EVP_PKEY_eq(priv.get(), pub.get()) != 1) {
    ERR_clear_error();
    return "--auth-token: pub-key " + pub_path + " does not match priv-key " + priv_path;
  }
  impl->can_sign = static_cast<bool>(priv);
  impl->key = priv ? std::move(priv) : std::move(pub);
  if (method->family == Family::es)
    impl->es_half = static_cast<size_t>((EVP_PKEY_get_bits(impl->key.get()) + 7) / 8);
  return std::unique_ptr<JwtKey>(new JwtKey(std::move(impl)));
}

std::optional<std::string> JwtKey::sign(std::string_view input) const {
  if (!impl_->can_sign) return std::nullopt;
  if (impl_->method.family == Family::hs) return impl_->hmac(input);
  MdCtx ctx = impl_->digest_context(true);
  if (!ctx) {
    ERR_clear_error();
    return std::nullopt;
  }
  const auto* in = reinterpret_cast<const unsigned char*>(input.data());
  size_t len = 0;
  if (EVP_DigestSign(ctx.get(), nullptr, &len, in, input.size()) != 1) {
    ERR_clear_error();
    return std::nullopt;
  }
  std::vector<unsigned char> sig(len);
  if (EVP_DigestSign(ctx.get(), sig.data(), &len, in, input.size()) != 1) {
    ERR_clear_error();
    return std::nullopt;
  }
  sig.resize(len);
  if (impl_->method.family != Family::es)
    return std::string(reinterpret_cast<const char*>(sig.data()), sig.size());
  // OpenSSL's DER SEQUENCE { r, s } → JWS's fixed-width R || S.
  const unsigned char* p = sig.data();
  EcdsaSig parsed(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(sig.size())));
  if (!parsed) {
    ERR_clear_error();
    return std::nullopt;
  }
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(parsed.get(), &r, &s);
  size_t half = impl_->es_half;
  std::string out(2 * half, '\0');
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  if (BN_bn2binpad(r, o, static_cast<int>(half)) < 0 ||
      BN_bn2binpad(s, o + half, static_cast<int>(half)) < 0)
    return std::nullopt;
  return out;
}

bool JwtKey::verify(std::string_view input, std::string_view signature) const {
  if (impl_->method.family == Family::hs) {
    auto expected = impl_->hmac(input);
    // The length is no secret; the bytes are compared in constant time.
    return expected && expected->size() == signature.size() &&
           CRYPTO_memcmp(expected->data(), signature.data(), signature.size()) == 0;
  }
  std::vector<unsigned char> der;
  std::string_view sig = signature;
  if (impl_->method.family == Family::es) {
    // JWS's R || S → DER for OpenSSL; any other length is no signature of this curve.
    size_t half = impl_->es_half;
    if (signature.size() != 2 * half) return false;
    const auto* raw = reinterpret_cast<const unsigned char*>(signature.data());
    BIGNUM* r = BN_bin2bn(raw, static_cast<int>(half), nullptr);
    BIGNUM* s = BN_bin2bn(raw + half, static_cast<int>(half), nullptr);
    EcdsaSig parsed(ECDSA_SIG_new());
    if (!r || !s || !parsed || ECDSA_SIG_set0(parsed.get(), r, s) != 1) {
      BN_free(r);
      BN_free(s);
      ERR_clear_error();
      return false;
    }
    int len = i2d_ECDSA_SIG(parsed.get(), nullptr);
    if (len <= 0) {
      ERR_clear_error();
      return false;
    }
    der.resize(static_cast<size_t>(len));
    unsigned char* p = der.data();
    i2d_ECDSA_SIG(parsed.get(), &p);
    sig = std::string_view(reinterpret_cast<const char*>(der.data()), der.size());
  }
  MdCtx ctx = impl_->digest_context(false);
  bool ok = ctx && EVP_DigestVerify(
                       ctx.get(), reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                       reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1;
  ERR_clear_error();
  return ok;
}

}  // namespace revkv::auth
