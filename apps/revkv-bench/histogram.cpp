#include "apps/revkv-bench/histogram.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

namespace revkv::bench {

// Values below 2^kSubBits get one bucket each; above, each power of two [2^e, 2^(e+1))
// is split into 2^kSubBits equal sub-buckets.
int Histogram::bucket_of(uint64_t v) {
  constexpr uint64_t kSub = uint64_t{1} << kSubBits;
  if (v < kSub) return static_cast<int>(v);
  int e = 63 - std::countl_zero(v);  // e >= kSubBits
  int shift = e - kSubBits;
  int sub = static_cast<int>((v >> shift) - kSub);
  return ((shift + 1) << kSubBits) + sub;
}

uint64_t Histogram::upper_edge(int bucket) {
  constexpr uint64_t kSub = uint64_t{1} << kSubBits;
  int group = bucket >> kSubBits;
  uint64_t sub = static_cast<uint64_t>(bucket) & (kSub - 1);
  if (group == 0) return sub;
  int shift = group - 1;
  // Highest value that maps to this bucket.
  return ((kSub + sub + 1) << shift) - 1;
}

void Histogram::record(uint64_t nanos) {
  ++counts_[static_cast<std::size_t>(bucket_of(nanos))];
  ++count_;
  sum_ += nanos;
  max_ = std::max(max_, nanos);
}

void Histogram::merge(const Histogram& other) {
  for (std::size_t i = 0; i < counts_.size(); ++i)
    counts_[i] += other.counts_[i];
  count_ += other.count_;
  sum_ += other.sum_;
  max_ = std::max(max_, other.max_);
}

uint64_t Histogram::percentile(double q) const {
  if (count_ == 0) return 0;
  auto rank =
      static_cast<uint64_t>(std::ceil(std::clamp(q, 0.0, 1.0) * static_cast<double>(count_)));
  rank = std::max<uint64_t>(rank, 1);
  uint64_t seen = 0;
  for (int b = 0; b < kBuckets; ++b) {
    seen += counts_[static_cast<std::size_t>(b)];
    if (seen >= rank) return std::min(upper_edge(b), max_);
  }
  return max_;
}

}  // namespace revkv::bench
