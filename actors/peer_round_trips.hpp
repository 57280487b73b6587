#pragma once

// Round trips to each peer as the member's prober measured them (apps/revkvd/peer_prober.hpp),
// kept as one histogram per peer for etcd_network_peer_round_trip_time_seconds
// (docs/METRICS.md). Written by the prober thread, read by the metrics scrape: one mutex,
// taken a few times a second at most.

#include <array>
#include <cstdint>
#include <map>
#include <mutex>

namespace revkv::actors {

class PeerRoundTrips {
 public:
  // etcd's buckets for this family: 0.0001 s doubling 16 times (up to about 3.3 s).
  static constexpr size_t kBuckets = 16;
  static constexpr double bound(size_t i) { return 0.0001 * static_cast<double>(1u << i); }

  struct Histogram {
    std::array<uint64_t, kBuckets> cumulative{};  // observations <= bound(i)
    uint64_t count = 0;
    double sum = 0;
  };

  void observe(uint64_t peer, double seconds) {
    std::lock_guard lock(mu_);
    auto& h = peers_[peer];
    for (size_t i = 0; i < kBuckets; ++i)
      if (seconds <= bound(i)) ++h.cumulative[i];
    ++h.count;
    h.sum += seconds;
  }

  std::map<uint64_t, Histogram> snapshot() const {
    std::lock_guard lock(mu_);
    return peers_;
  }

 private:
  mutable std::mutex mu_;
  std::map<uint64_t, Histogram> peers_;
};

}  // namespace revkv::actors
