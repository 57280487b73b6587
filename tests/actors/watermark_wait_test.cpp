// ClusterLink::wait_for_watermark: what a new leader waits on before it serves
// (apps/revkvd/cluster_member.hpp, docs/CLUSTER.md "Replicated writes").
#include "actors/cluster_link.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>

using revkv::actors::ClusterLink;
using Clock = std::chrono::steady_clock;

TEST_CASE("cluster link: a watermark already reached returns at once", "[cluster_link]") {
  ClusterLink link;
  std::atomic<int64_t> w{7};
  // A deadline in the past: whatever is reached answers true, the rest false, no waiting.
  CHECK(link.wait_for_watermark(w, 7, Clock::now() - std::chrono::seconds(1)));
  CHECK(link.wait_for_watermark(w, 3, Clock::now() - std::chrono::seconds(1)));
  CHECK_FALSE(link.wait_for_watermark(w, 8, Clock::now() - std::chrono::seconds(1)));
  CHECK(link.watermark_waiters() == 0);
}

TEST_CASE("cluster link: a watermark never reached ends the wait at its deadline",
          "[cluster_link]") {
  ClusterLink link;
  std::atomic<int64_t> w{1};
  CHECK_FALSE(link.wait_for_watermark(w, 10, Clock::now() + std::chrono::milliseconds(10)));
  CHECK(link.watermark_waiters() == 0);
}

TEST_CASE("cluster link: a blocked waiter wakes when the watermark moves past its revision",
          "[cluster_link]") {
  ClusterLink link;
  std::atomic<int64_t> w{1};
  // The waiter's own deadline is far beyond the bound this test waits for it: if
  // watermark_moved() did not wake it, it would still be blocked when that bound passes.
  auto waiter = std::async(std::launch::async, [&] {
    return link.wait_for_watermark(w, 10, Clock::now() + std::chrono::seconds(120));
  });
  // Registered, hence past its first look at W: from here only a wake-up can answer it.
  const auto registered_by = Clock::now() + std::chrono::seconds(30);
  while (link.watermark_waiters() == 0 && Clock::now() < registered_by)
    std::this_thread::yield();
  REQUIRE(link.watermark_waiters() == 1);
  // Below its revision, woken: it looks at W and waits on.
  w.store(9);
  link.watermark_moved();
  CHECK(link.watermark_waiters() == 1);
  // Moved as the backend actor moves it: store, then watermark_moved().
  w.store(10);
  link.watermark_moved();
  REQUIRE(waiter.wait_for(std::chrono::seconds(30)) == std::future_status::ready);
  CHECK(waiter.get());
  CHECK(link.watermark_waiters() == 0);
}
