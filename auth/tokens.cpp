#include "auth/tokens.hpp"

#include <array>
#include <sys/random.h>

namespace revkv::auth {

namespace {

constexpr std::string_view kLetters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
constexpr size_t kPrefixLetters = 16;

// 16 letters from the kernel's CSPRNG, without modulo bias (bytes >= 208 are redrawn).
std::optional<std::string> random_letters() {
  std::string out;
  std::array<unsigned char, 64> pool{};
  while (out.size() < kPrefixLetters) {
    if (getrandom(pool.data(), pool.size(), 0) != static_cast<ssize_t>(pool.size()))
      return std::nullopt;
    for (unsigned char b : pool) {
      if (b >= 4 * kLetters.size()) continue;
      out.push_back(kLetters[b % kLetters.size()]);
      if (out.size() == kPrefixLetters) break;
    }
  }
  return out;
}

}  // namespace

std::optional<std::string> SimpleTokens::random_prefix() {
  return random_letters();
}

void SimpleTokens::insert(const std::string& token, const std::string& user,
                          Clock::time_point now) {
  std::lock_guard lock(mutex_);
  drop_expired(now);
  tokens_[token] = Entry{user, now + ttl_};
}

bool SimpleTokens::contains(std::string_view token) const {
  std::lock_guard lock(mutex_);
  return tokens_.find(std::string(token)) != tokens_.end();
}

std::optional<std::string> SimpleTokens::assign(const std::string& user, Clock::time_point now) {
  auto prefix = random_letters();
  if (!prefix) return std::nullopt;
  std::lock_guard lock(mutex_);
  drop_expired(now);
  std::string token = *prefix + "." + std::to_string(next_index_++);
  tokens_[token] = Entry{user, now + ttl_};
  return token;
}

std::optional<std::string> SimpleTokens::resolve(std::string_view token, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  auto it = tokens_.find(std::string(token));
  if (it == tokens_.end()) return std::nullopt;
  if (it->second.expires <= now) {
    tokens_.erase(it);
    return std::nullopt;
  }
  it->second.expires = now + ttl_;
  return it->second.user;
}

void SimpleTokens::invalidate_user(std::string_view user) {
  std::lock_guard lock(mutex_);
  std::erase_if(tokens_, [&](const auto& kv) { return kv.second.user == user; });
}

void SimpleTokens::clear() {
  std::lock_guard lock(mutex_);
  tokens_.clear();
}

size_t SimpleTokens::size() const {
  std::lock_guard lock(mutex_);
  return tokens_.size();
}

// Expired tokens leave at most once a second, on assign: memory stays bounded by the
// tokens handed out within one TTL (each costs a bcrypt check to get).
void SimpleTokens::drop_expired(Clock::time_point now) {
  if (now < next_sweep_) return;
  next_sweep_ = now + std::chrono::seconds(1);
  std::erase_if(tokens_, [&](const auto& kv) { return kv.second.expires <= now; });
}

}  // namespace revkv::auth
