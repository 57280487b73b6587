#pragma once

// Password hashing as etcd does it: bcrypt at etcd's default cost 10, here through
// libxcrypt's crypt_r with a "$2b$" setting (Debian libcrypt-dev). bcrypt reads at most
// 72 bytes of a password; longer ones are cut to 72 before hashing and checking, which
// gives the hash Go's bcrypt (etcd) gives them and keeps an enormous password from
// costing more than a short one.

#include <optional>
#include <string>
#include <string_view>

namespace revkv::auth {

inline constexpr int kBcryptCost = 10;
inline constexpr size_t kBcryptMaxPasswordBytes = 72;

// "$2b$10$<salt><hash>", or nullopt when libcrypt or the random source failed.
std::optional<std::string> hash_password(std::string_view password, int cost = kBcryptCost);
// Whether `password` matches `hash` (a hash_password result); false for a malformed hash.
bool check_password(std::string_view hash, std::string_view password);

}  // namespace revkv::auth
