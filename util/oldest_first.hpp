#pragma once

// Connections in their first phase (the client port's sniffing of the first bytes, a TLS
// handshake), held by age so that a full set makes room by giving up its oldest: silent
// connections then cannot keep every new client out (closing the newcomer instead let
// 1,024 idle sockets lock the port for as long as they stayed). A client that speaks at
// once leaves the set within a round trip; only connections that linger are displaced.
// Not thread-safe: its owner locks around it.

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <unordered_map>
#include <vector>

namespace revkv::util {

template <class T>
class OldestFirst {
 public:
  // Adds `entry`. When `limit` entries were held already, the oldest still alive is taken
  // out and returned, for the caller to close outside its lock.
  std::shared_ptr<T> add(const std::shared_ptr<T>& entry, size_t limit) {
    std::shared_ptr<T> displaced;
    while (age_of_.size() >= limit && !by_age_.empty()) {
      auto oldest = by_age_.begin();
      displaced = oldest->second.lock();
      age_of_.erase(oldest->first.second);
      by_age_.erase(oldest);
      if (displaced) break;
    }
    const uint64_t age = next_++;
    by_age_.emplace(Key{age, entry.get()}, entry);
    age_of_.emplace(entry.get(), age);
    return displaced;
  }

  void erase(T* entry) {
    auto it = age_of_.find(entry);
    if (it == age_of_.end()) return;
    by_age_.erase(Key{it->second, entry});
    age_of_.erase(it);
  }

  // Every entry still alive, the set emptied.
  std::vector<std::shared_ptr<T>> take_all() {
    std::vector<std::shared_ptr<T>> out;
    for (auto& [key, weak] : by_age_)
      if (auto e = weak.lock()) out.push_back(std::move(e));
    by_age_.clear();
    age_of_.clear();
    return out;
  }

  size_t size() const { return age_of_.size(); }

 private:
  using Key = std::pair<uint64_t, T*>;
  std::map<Key, std::weak_ptr<T>> by_age_;
  std::unordered_map<T*, uint64_t> age_of_;
  uint64_t next_ = 0;
};

}  // namespace revkv::util
