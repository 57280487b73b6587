#pragma once

// A JWT signing method and its key, over OpenSSL's libcrypto: the JWS algorithms etcd 3.4
// accepts (RFC 7518): HS256/384/512 (HMAC, the key is the priv-key file's bytes, as etcd
// reads it), RS256/384/512 (RSASSA-PKCS1-v1_5), PS256/384/512 (RSASSA-PSS, MGF1 with the
// same hash) and ES256/384/512 (ECDSA on P-256/P-384/P-521; the signature in JWS's raw
// R||S form, not OpenSSL's DER). A key given only as a public key verifies but cannot sign
// (etcd's verify-only member).

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace revkv::auth {

class JwtKey {
 public:
  // Loads the key files for `method` (PEM: PKCS#8, PKCS#1 or SEC1 private keys, not
  // encrypted; a SubjectPublicKeyInfo public key or a certificate, as etcd's jwt-go reads
  // them; for HS*, the priv-key file's bytes); a one-line error naming the problem otherwise
  // (unknown method, missing/unreadable file, not a key, a key of the wrong type or curve,
  // a public key that does not match the private one).
  static std::variant<std::unique_ptr<JwtKey>, std::string> load(std::string_view method,
                                                                 const std::string& pub_key_path,
                                                                 const std::string& priv_key_path);
  ~JwtKey();
  JwtKey(const JwtKey&) = delete;
  JwtKey& operator=(const JwtKey&) = delete;

  const std::string& method() const;
  bool can_sign() const;
  // The signature of `input` in JWS form; nullopt when this key cannot sign or OpenSSL
  // failed.
  std::optional<std::string> sign(std::string_view input) const;
  // Whether `signature` (JWS form) is this key's over `input`. Never throws.
  bool verify(std::string_view input, std::string_view signature) const;

 private:
  struct Impl;
  explicit JwtKey(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace revkv::auth
