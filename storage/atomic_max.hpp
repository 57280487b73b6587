#pragma once

// Raising a shared revision to at least a value, from any thread: the compare-exchange loop
// in one place (a keyspace's settled revision, a follower's revision counter).

#include <atomic>

namespace revkv::storage {

template <class T>
void raise_to(std::atomic<T>& value, T at_least) {
  T seen = value.load();
  while (seen < at_least && !value.compare_exchange_weak(seen, at_least)) {
  }
}

}  // namespace revkv::storage
