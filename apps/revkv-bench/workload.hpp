#pragma once

// What one client of the load asks for next, whatever door it goes through: the op (by the
// mix), the key (uniform over the key space), the value and the leases it granted. The
// MessagePack load (bench.cpp) and the gRPC load (grpc_load.cpp) encode the same choices.

#include "apps/revkv-bench/options.hpp"

#include <cstdint>
#include <random>
#include <string>
#include <string_view>
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

// One LIST in progress, as a Kubernetes-style client reads a keyspace: pages of
// `limit = --range-size` over [key_of(0), key_of(--keys)), each page starting just after the
// last key of the previous one (that key + "\0") at the revision the first page was read at,
// until a page answers more = false. It checks what it reads: every key after the previous
// one, and (at the end) how many.
class ListCursor {
 public:
  explicit ListCursor(const Options& options) : o_(options) {}

  bool active() const { return active_; }
  void start();
  // The page to ask for next: [start, end) with limit --range-size.
  const std::string& page_start() const { return next_; }
  std::string page_end() const { return key_of(o_.keys); }
  int64_t page_limit() const { return o_.range_size; }
  // 0 (the current revision) for the first page, then the first page's header revision.
  int64_t page_revision() const { return revision_; }
  // Feeds the keys of the page just answered, in the order they came.
  void key(std::string_view k);
  // Ends the page, answered at `revision`: true when the LIST is complete (more = false, or
  // a page that read nothing and so cannot continue). An unordered or empty-but-more page
  // makes it a mismatch.
  bool end_page(bool more, int64_t revision);
  // The LIST in progress is dropped (an error, or the run ended).
  void abandon() { active_ = false; }
  // Of the LIST just completed: keys seen, and whether they were --keys keys in order.
  int64_t keys_seen() const { return seen_; }
  bool matched() const { return ordered_ && seen_ == o_.keys; }

 private:
  const Options& o_;
  bool active_ = false;
  bool ordered_ = true;
  int64_t seen_ = 0;
  int64_t page_keys_ = 0;
  int64_t revision_ = 0;
  std::string last_;  // the last key seen ("" before the first)
  std::string next_;
};

// The send time a put_value() starts with, or 0.
int64_t stamp_of(const std::string& value);

}  // namespace revkv::bench
