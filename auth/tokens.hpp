#pragma once

// etcd's simple tokens: an opaque "<16 random letters>.<index>" handed out by
// Authenticate, naming its user for `ttl` after its last use (etcd's --auth-token-ttl,
// 300 s by default; each use restarts it). Held in memory only, as etcd holds them: a
// restart, disabling auth, deleting the user or changing its password ends them.
// Thread-safe; resolve() is a map lookup under a mutex.

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace revkv::auth {

class SimpleTokens {
 public:
  using Clock = std::chrono::steady_clock;

  explicit SimpleTokens(std::chrono::seconds ttl) : ttl_(ttl) {}

  // A new token for `user`; nullopt when the random source failed.
  std::optional<std::string> assign(const std::string& user, Clock::time_point now = Clock::now());
  // Cluster mode: a token named by a committed grant (auth/replication.hpp), the same on
  // every member; its TTL runs on each member from when it applied the grant.
  void insert(const std::string& token, const std::string& user,
              Clock::time_point now = Clock::now());
  bool contains(std::string_view token) const;
  // A token's random part (16 letters); nullopt when the random source failed.
  static std::optional<std::string> random_prefix();
  // The user of a live token (and its TTL restarts), or nullopt.
  std::optional<std::string> resolve(std::string_view token, Clock::time_point now = Clock::now());
  void invalidate_user(std::string_view user);
  void clear();
  size_t size() const;

 private:
  struct Entry {
    std::string user;
    Clock::time_point expires;
  };
  void drop_expired(Clock::time_point now);

  std::chrono::seconds ttl_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Entry> tokens_;
  uint64_t next_index_ = 1;
  Clock::time_point next_sweep_{};
};

}  // namespace revkv::auth
