// util::DescriptorBudget: when a client listener closes a new connection to keep the
// descriptors RocksDB's files need (util/open_files.hpp), with its sources injected.

#include "util/open_files.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <optional>

namespace revkv {

namespace {

struct Fake {
  uint64_t open = 100;
  std::optional<uint64_t> limit = 1024;  // reserve 256: at most 768 open
  std::chrono::steady_clock::time_point now{};
  int counts = 0;

  util::DescriptorBudget budget() {
    util::DescriptorBudget::Sources sources;
    sources.open_descriptors = [this] {
      ++counts;
      return open;
    };
    sources.limit = [this] { return limit; };
    sources.now = [this] { return now; };
    return util::DescriptorBudget(std::move(sources));
  }
};

}  // namespace

TEST_CASE(
    "descriptor budget: the reserve is 256 (a quarter of a small limit) or an eighth of "
    "the limit",
    "[tls][descriptors]") {
  CHECK(util::descriptor_reserve(256) == 64);  // a small limit leaves clients some too
  CHECK(util::descriptor_reserve(512) == 128);
  CHECK(util::descriptor_reserve(1024) == 256);
  CHECK(util::descriptor_reserve(1u << 20) == (1u << 17));
  // This process's own count sees a descriptor it opens.
  CHECK(util::count_open_descriptors() >= 3);
}

TEST_CASE("descriptor budget: a count is reused while connections stay far from the limit",
          "[tls][descriptors]") {
  Fake fake;
  auto budget = fake.budget();
  CHECK(budget.admits(10));
  CHECK(fake.counts == 1);
  // 100 open + 3 per connection: 222 more fit under 768 without counting again.
  for (int i = 0; i < 200; ++i)
    CHECK(budget.admits(11));
  CHECK(fake.counts == 1);
  // A second later the count is redone, whatever it says.
  fake.now += std::chrono::seconds(1);
  fake.open = 300;
  CHECK(budget.admits(12));
  CHECK(fake.counts == 2);
}

TEST_CASE(
    "descriptor budget: near the limit connections are refused and counted again at most "
    "every 50 ms",
    "[tls][descriptors]") {
  Fake fake;
  fake.open = 766;
  auto budget = fake.budget();
  CHECK_FALSE(budget.admits(10));  // 766 + 3 > 768
  CHECK(fake.counts == 1);
  fake.now += std::chrono::milliseconds(10);
  CHECK_FALSE(budget.admits(10));  // the count is fresh: refused without counting
  CHECK(fake.counts == 1);
  // Clients left: the next count, 50 ms on, admits again.
  fake.open = 500;
  fake.now += std::chrono::milliseconds(40);
  CHECK(budget.admits(10));
  CHECK(fake.counts == 2);
  // Each admitted connection counts 3 until the next count: 500 + 3 * 89 = 767.
  for (int i = 0; i < 88; ++i)
    CHECK(budget.admits(10));
  CHECK_FALSE(budget.admits(10));
  CHECK(fake.counts == 2);
}

TEST_CASE(
    "descriptor budget: a descriptor numbered past the line is refused without counting, and "
    "no limit admits all",
    "[tls][descriptors]") {
  Fake fake;
  auto budget = fake.budget();
  CHECK_FALSE(budget.admits(768));  // every descriptor below it is open
  CHECK(fake.counts == 0);
  fake.limit = std::nullopt;
  fake.open = 1u << 30;
  CHECK(budget.admits(1 << 20));
  CHECK(fake.counts == 0);
}

}  // namespace revkv
