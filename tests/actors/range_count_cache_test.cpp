// The counts a LIST's pages carry to each other (actors/range_count_cache.hpp): found only for
// the same range and revision, kept within their bounds, least recently used forgotten first.

#include "actors/range_count_cache.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

using revkv::actors::RangeCountCache;

TEST_CASE("range count cache: a count is found for its own start, end and revision only",
          "[actors][range]") {
  RangeCountCache cache;
  CHECK_FALSE(cache.find("a", "b", 5));
  cache.remember("a", "b", 5, 42);
  CHECK(cache.find("a", "b", 5) == 42);
  CHECK_FALSE(cache.find("a", "b", 6));
  CHECK_FALSE(cache.find("a", "c", 5));
  CHECK_FALSE(cache.find(std::string("a\0", 2), "b", 5));
  CHECK_FALSE(cache.find("a", "", 5));  // "" is the unbounded end, another range
  cache.remember("a", "b", 5, 41);      // the same entry, replaced
  CHECK(cache.find("a", "b", 5) == 41);
  CHECK(cache.size() == 1);
  CHECK(cache.key_bytes() == 2);
}

TEST_CASE("range count cache: the least recently used entry goes first", "[actors][range]") {
  RangeCountCache cache(3, 1 << 20);
  cache.remember("k1", "z", 1, 1);
  cache.remember("k2", "z", 1, 2);
  cache.remember("k3", "z", 1, 3);
  CHECK(cache.find("k1", "z", 1) == 1);  // k1 used: k2 is now the oldest
  cache.remember("k4", "z", 1, 4);
  CHECK(cache.size() == 3);
  CHECK_FALSE(cache.find("k2", "z", 1));
  CHECK(cache.find("k1", "z", 1) == 1);
  CHECK(cache.find("k3", "z", 1) == 3);
  CHECK(cache.find("k4", "z", 1) == 4);
}

TEST_CASE("range count cache: key bytes are bounded, and a huge continuation is not kept",
          "[actors][range]") {
  RangeCountCache cache(1000, 100);
  for (int i = 0; i < 20; ++i)
    cache.remember("key-" + std::to_string(i) + std::string(10, 'x'), "end", 7, i);
  CHECK(cache.key_bytes() <= 100);
  CHECK(cache.size() == 100 / (16 + 3));  // "key-N" + 10 x + "end": 18 or 19 bytes
  CHECK(cache.find("key-19" + std::string(10, 'x'), "end", 7) == 19);
  CHECK_FALSE(cache.find("key-0" + std::string(10, 'x'), "end", 7));

  RangeCountCache roomy;
  const std::string huge(RangeCountCache::kMaxEntryKeyBytes, 'k');
  roomy.remember(huge, "end", 1, 5);
  CHECK(roomy.size() == 0);
  CHECK_FALSE(roomy.find(huge, "end", 1));
  RangeCountCache none(0, 1 << 20);
  none.remember("a", "b", 1, 1);
  CHECK(none.size() == 0);
}

TEST_CASE("range count cache: doors on several threads share one", "[actors][range]") {
  RangeCountCache cache(64, 1 << 20);
  std::atomic<int> wrong{0};  // Catch2's assertions are not thread-safe: counted, then checked
  std::vector<std::thread> doors;
  for (int t = 0; t < 4; ++t) {
    doors.emplace_back([&cache, &wrong, t] {
      for (int i = 0; i < 2000; ++i) {
        const std::string start = "t" + std::to_string(t) + "/" + std::to_string(i % 100);
        cache.remember(start, "end", i, i);
        auto found = cache.find(start, "end", i);
        if (found && *found != i) ++wrong;
      }
    });
  }
  for (auto& d : doors)
    d.join();
  CHECK(wrong == 0);
  CHECK(cache.size() <= 64);
}
