#include "util/open_files.hpp"

#include <algorithm>
#include <filesystem>
#include <sys/resource.h>

namespace revkv::util {

namespace {

std::optional<uint64_t> soft_limit() {
  rlimit limit{};
  // Read at each call: an operator may change a running node's limit (prlimit).
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY)
    return std::nullopt;
  return limit.rlim_cur;
}

constexpr std::chrono::seconds kOldestCount{1};
constexpr std::chrono::milliseconds kRecountNearLimit{50};

}  // namespace

std::optional<uint64_t> raise_open_file_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur >= limit.rlim_max)
    return std::nullopt;
  const uint64_t before = limit.rlim_cur;
  limit.rlim_cur = limit.rlim_max;
  if (::setrlimit(RLIMIT_NOFILE, &limit) != 0) return std::nullopt;
  return before;
}

uint64_t descriptor_reserve(uint64_t limit) {
  // Under a limit below 1024, a quarter: a reserve of 256 would leave clients nothing.
  return std::max(std::min<uint64_t>(256, limit / 4), limit / 8);
}

uint64_t count_open_descriptors() {
  std::error_code ec;
  uint64_t n = 0;
  for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end;
       it.increment(ec))
    ++n;
  return n > 0 ? n - 1 : 0;  // the directory's own descriptor, open while it is listed
}

DescriptorBudget::DescriptorBudget() {
  sources_.limit = soft_limit;
}

bool DescriptorBudget::admits(int fd) {
  const auto limit = sources_.limit();
  if (!limit) return true;
  const uint64_t reserve = descriptor_reserve(*limit);
  const uint64_t most = *limit > reserve ? *limit - reserve : 0;
  // Descriptors are handed out lowest first: every one below `fd` is in use.
  if (fd >= 0 && static_cast<uint64_t>(fd) >= most) return false;
  std::lock_guard lock(mu_);
  const auto now = sources_.now();
  const bool fresh = counted_at_ && now - *counted_at_ < kOldestCount;
  if (fresh && counted_ + kPerConnection * (admitted_since_ + 1) <= most) {
    ++admitted_since_;
    return true;
  }
  if (fresh && now - *counted_at_ < kRecountNearLimit) return false;
  counted_ = sources_.open_descriptors();  // this connection's descriptor included
  counted_at_ = now;
  admitted_since_ = 0;
  if (counted_ + kPerConnection > most) return false;
  admitted_since_ = 1;
  return true;
}

DescriptorBudget& client_descriptor_budget() {
  static DescriptorBudget budget;
  return budget;
}

}  // namespace revkv::util
