#include "auth/state.hpp"

#include <algorithm>
#include <optional>

namespace revkv::auth {

const User* State::user(std::string_view name) const {
  auto it = users.find(name);
  return it == users.end() ? nullptr : &it->second;
}

const Role* State::role(std::string_view name) const {
  auto it = roles.find(name);
  return it == roles.end() ? nullptr : &it->second;
}

bool has_root_role(const User& user) {
  return std::binary_search(user.roles.begin(), user.roles.end(), kRootRole);
}

namespace {

// [begin, end); no end: unbounded above.
struct Interval {
  std::string_view begin;
  std::optional<std::string> end;
};

bool grants(PermType have, PermType want) {
  return have == PermType::readwrite || have == want;
}

// The key right after `key` in byte order: a one-key permission covers [key, key + "\0").
std::string successor(std::string_view key) {
  std::string s(key);
  s.push_back('\0');
  return s;
}

}  // namespace

bool permitted(const State& state, const User& user, std::string_view key,
               std::string_view range_end, PermType want) {
  std::vector<Interval> granted;
  for (const auto& role_name : user.roles) {
    const Role* role = state.role(role_name);
    if (!role) continue;
    for (const auto& p : role->perms) {
      if (!grants(p.type, want)) continue;
      if (p.range_end.empty()) {
        granted.push_back({p.key, successor(p.key)});
      } else if (p.range_end == std::string_view("\0", 1)) {
        granted.push_back({p.key, std::nullopt});
      } else if (p.key < p.range_end) {
        granted.push_back({p.key, p.range_end});
      }
      // An inverted range ([b, a)) grants nothing: it holds no key.
    }
  }
  if (granted.empty()) return false;
  std::optional<std::string> want_end;
  if (range_end.empty()) {
    want_end = successor(key);
  } else if (range_end != std::string_view("\0", 1)) {
    want_end = std::string(range_end);
  }
  // An empty or inverted request names no key; etcd's interval check finds no interval
  // overlapping it and refuses, and so does this.
  if (want_end && *want_end <= key) return false;
  std::sort(granted.begin(), granted.end(),
            [](const Interval& a, const Interval& b) { return a.begin < b.begin; });
  // Sweep: `covered` is the end of the part of the request covered so far.
  std::string covered(key);
  for (const auto& g : granted) {
    if (g.begin > covered) break;  // a gap before the next permission
    if (!g.end) return true;       // unbounded: covers the rest of any request
    if (*g.end > covered) covered = *g.end;
    if (want_end && covered >= *want_end) return true;
  }
  return false;
}

}  // namespace revkv::auth
