// ClusterLink::wait_for_watermark: what a new leader waits on before it serves
// (apps/revkvd/cluster_member.hpp, docs/CLUSTER.md "Linearizable reads").
#include "actors/cluster_link.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <thread>

using revkv::actors::ClusterLink;
using Clock = std::chrono::steady_clock;

TEST_CASE("cluster link: a watermark already reached returns at once", "[cluster_link]") {
  ClusterLink link;
  std::atomic<int64_t> w{7};
  // A deadline in the past: only the check before any wait can answer true.
  CHECK(link.wait_for_watermark(w, 7, Clock::now() - std::chrono::seconds(1)));
  CHECK(link.wait_for_watermark(w, 3, Clock::now() - std::chrono::seconds(1)));
  CHECK_FALSE(link.wait_for_watermark(w, 8, Clock::now() - std::chrono::seconds(1)));
}

TEST_CASE("cluster link: a waiter wakes when the watermark moves past its revision",
          "[cluster_link]") {
  ClusterLink link;
  std::atomic<int64_t> w{1};
  std::atomic<bool> woke{false};
  // The deadline only keeps a broken wake-up from hanging the test; each move below is
  // announced as the backend actor announces it (store, then watermark_moved).
  std::thread waiter(
      [&] { woke.store(link.wait_for_watermark(w, 10, Clock::now() + std::chrono::seconds(60))); });
  for (int64_t rev = 2; rev <= 10; ++rev) {
    CHECK_FALSE(woke.load());  // below 10 the waiter keeps waiting
    w.store(rev);
    link.watermark_moved();
  }
  waiter.join();
  CHECK(woke.load());
}
