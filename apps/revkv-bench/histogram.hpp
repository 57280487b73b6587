#pragma once

// A log-bucketed latency histogram (HdrHistogram is not packaged): 32 sub-buckets per
// power of two, so a reported percentile is within ~3% of the true value. Fixed size,
// no allocation per sample; merged across threads at the end.

#include <array>
#include <cstdint>

namespace revkv::bench {

class Histogram {
 public:
  void record(uint64_t nanos);
  void merge(const Histogram& other);
  uint64_t count() const { return count_; }
  uint64_t max() const { return max_; }
  double mean() const {
    return count_ ? static_cast<double>(sum_) / static_cast<double>(count_) : 0;
  }
  // The value at quantile q in [0, 1] (upper edge of its bucket, capped at max()).
  uint64_t percentile(double q) const;

  static constexpr int kSubBits = 5;
  static constexpr int kBuckets = (64 - kSubBits + 1) << kSubBits;

 private:
  static int bucket_of(uint64_t v);
  static uint64_t upper_edge(int bucket);

  std::array<uint64_t, kBuckets> counts_{};
  uint64_t count_ = 0;
  uint64_t sum_ = 0;
  uint64_t max_ = 0;
};

}  // namespace revkv::bench
