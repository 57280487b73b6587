#pragma once

// The process's open-file limit, shared by client connections and RocksDB's files (its WAL,
// tables and manifest). RocksDB failing to open its next file is a fatal storage error, so
// clients must never take the last descriptors.

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>

namespace revkv::util {

// Raises the soft RLIMIT_NOFILE to the hard one, as Go's runtime does for etcd since Go
// 1.19; the limit before, if it was raised.
std::optional<uint64_t> raise_open_file_limit();

// Descriptors kept free for the node's own files under a soft limit of `limit`: 256 (a
// quarter of a limit below 1024), or an eighth of the limit when that is more.
uint64_t descriptor_reserve(uint64_t limit);

// The descriptors this process has open (/proc/self/fd).
uint64_t count_open_descriptors();

// Whether new client connections may take descriptors: not once fewer than
// descriptor_reserve() would be left. Counting the open descriptors costs a scan of
// /proc/self/fd, so a count is reused: each connection admitted since is taken to add
// kPerConnection more (a socket, and the door's duplicate or a TLS connection's
// socketpair), a count is at most a second old, and near the limit at most 50 ms old
// (refused meanwhile). Thread-safe.
class DescriptorBudget {
 public:
  static constexpr uint64_t kPerConnection = 3;
  struct Sources {
    std::function<uint64_t()> open_descriptors = count_open_descriptors;
    // The soft limit; nullopt when unlimited.
    std::function<std::optional<uint64_t>()> limit;
    std::function<std::chrono::steady_clock::time_point()> now = std::chrono::steady_clock::now;
  };
  DescriptorBudget();  // the process's own
  explicit DescriptorBudget(Sources sources) : sources_(std::move(sources)) {}

  // Whether a connection just accepted (holding descriptor `fd`) may stay open.
  bool admits(int fd);

 private:
  Sources sources_;
  std::mutex mu_;
  std::optional<std::chrono::steady_clock::time_point> counted_at_;
  uint64_t counted_ = 0;
  uint64_t admitted_since_ = 0;
};

// The budget every client listener of the process shares.
DescriptorBudget& client_descriptor_budget();

}  // namespace revkv::util
