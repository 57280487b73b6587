#pragma once

// What one client of the load asks for next, whatever door it goes through: the op (by the
// mix), the key (uniform over the key space), the value and the leases it granted. The
// MessagePack load (bench.cpp) and the gRPC load (grpc_load.cpp) encode the same choices.

#include "apps/revkv-bench/options.hpp"

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace revkv::bench {

// The key of index i: fixed width, so that key order is index order (range ops).
std::string key_of(int64_t i);

class Workload {
 public:
  Workload(const Options& options, uint64_t seed);

  const Options& options() const { return o_; }
  // A keepalive becomes a grant while this client has no lease yet.
  Op next_op();
  int64_t next_key() { return key_(rng_); }
  // The value of a put. In watch mode it starts with its send time (steady clock, ns,
  // "<ns>:"), from which the watchers measure delivery latency.
  std::string put_value() const;
  // A fresh explicit lease id, unique to this client and run, remembered for keepalives.
  int64_t grant_lease();
  int64_t some_lease();

 private:
  const Options& o_;
  std::mt19937_64 rng_;
  std::uniform_int_distribution<int64_t> key_;
  std::discrete_distribution<int> op_;
  std::string value_;
  int64_t next_lease_ = 1;
  std::vector<int64_t> leases_;
};

// The send time a put_value() starts with, or 0.
int64_t stamp_of(const std::string& value);

}  // namespace revkv::bench
