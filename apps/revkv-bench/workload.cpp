#include "apps/revkv-bench/workload.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>

namespace revkv::bench {

using Clock = std::chrono::steady_clock;

std::string key_of(int64_t i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "key%012lld", static_cast<long long>(i));
  return buf;
}

Workload::Workload(const Options& o, uint64_t seed)
    : o_(o), rng_(seed), key_(0, o.keys - 1), op_(o.mix.begin(), o.mix.end()) {
  value_.resize(o.value_size);
  for (auto& c : value_)
    c = static_cast<char>('a' + rng_() % 26);
  // Explicit lease ids, unique per client and run: keep-alives name leases granted by
  // this client.
  next_lease_ = static_cast<int64_t>(
      (static_cast<uint64_t>(Clock::now().time_since_epoch().count()) ^ (seed << 40)) >> 2);
  if (next_lease_ == 0) next_lease_ = 1;
}

Op Workload::next_op() {
  auto op = static_cast<Op>(op_(rng_));
  return op == Op::keepalive && leases_.empty() ? Op::grant : op;
}

std::string Workload::put_value() const {
  if (!o_.watch) return value_;
  std::string value = value_;
  auto stamp = std::to_string(Clock::now().time_since_epoch().count()) + ":";
  value.replace(0, std::min(stamp.size(), value.size()), stamp);
  if (value.size() < stamp.size()) value = stamp;
  return value;
}

int64_t Workload::grant_lease() {
  leases_.push_back(next_lease_);
  return next_lease_++;
}

int64_t Workload::some_lease() {
  return leases_[static_cast<std::size_t>(rng_() % leases_.size())];
}

void ListCursor::start() {
  active_ = true;
  ordered_ = true;
  seen_ = 0;
  page_keys_ = 0;
  revision_ = 0;
  last_.clear();
  next_ = key_of(0);
}

void ListCursor::key(std::string_view k) {
  if (!last_.empty() && k <= last_) ordered_ = false;
  last_.assign(k);
  ++seen_;
  ++page_keys_;
}

bool ListCursor::end_page(bool more, int64_t revision) {
  const bool stuck = more && page_keys_ == 0;  // nothing to continue from
  if (stuck) ordered_ = false;
  page_keys_ = 0;
  if (revision_ == 0) revision_ = revision;
  if (more && !stuck) {
    next_ = last_;
    next_.push_back('\0');
    return false;
  }
  active_ = false;
  return true;
}

int64_t stamp_of(const std::string& value) {
  int64_t ns = 0;
  auto colon = value.find(':');
  if (colon == std::string::npos) return 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + colon, ns);
  return ec == std::errc{} && end == value.data() + colon ? ns : 0;
}

}  // namespace revkv::bench
