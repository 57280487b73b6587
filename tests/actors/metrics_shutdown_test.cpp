// A metrics scrape during shutdown (issue 12, item 2.2): revkvd's /metrics runs the state
// collector on the listener's threads, and it reads Backend::size() while Node::stop closes
// the backend. The collector holds the NodeContext (so the Backend object outlives it) and
// Backend::size() is safe against close(): scrapes before, during and after the stop all
// answer. Run under the ASan build for the use-after-free this used to be.

#include "metrics/state_collector.hpp"
#include "tests/actors/actor_harness.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

using namespace revkv;

namespace {

// Waits until `pred` holds; false when the deadline passed first.
template <class Pred>
bool eventually(Pred pred) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::yield();
  }
  return true;
}

}  // namespace

TEST_CASE("a metrics scrape loop racing Node::stop", "[actors][metrics][lifetime]") {
  testing::ActorHarness h;
  storage::PutRequest put;
  put.key = "k";
  put.value = "v";
  REQUIRE(h.call<storage::PutResponse>(put).ok());
  auto collector = metrics::make_state_collector(h.node().context());

  std::atomic<bool> stop{false};
  std::atomic<int> scrapes{0};
  std::atomic<int> incomplete{0};
  {
    std::vector<std::jthread> scrapers;
    for (int i = 0; i < 2; ++i) {
      scrapers.emplace_back([&] {
        while (!stop.load()) {
          auto families = collector->Collect();
          if (families.empty()) ++incomplete;
          ++scrapes;
        }
      });
    }
    REQUIRE(eventually([&] { return scrapes.load() >= 50; }));
    REQUIRE(h.node().stop().ok());
    // Scrapes go on after the backend is closed.
    int after_stop = scrapes.load();
    REQUIRE(eventually([&] { return scrapes.load() >= after_stop + 50; }));
    stop = true;
  }
  CHECK(incomplete.load() == 0);
}
