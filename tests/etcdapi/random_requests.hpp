#pragma once

// Seeded random etcd requests for the two-door differential test: KV requests with every
// option (ranges with limit, sort, filters, revisions, count/keys only; puts with prev_kv,
// leases, ignore_value/ignore_lease; deletes with prev_kv; txns with compares of every
// target and result, nested txns), leases from a small pool of ids, and requests that
// must fail (empty key, compacted and future revisions, missing leases, duplicate keys,
// an unknown compare target, too many operations). Same seed, same sequence.

#include "storage/types.hpp"

#include <cstdint>
#include <cstdlib>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <variant>
#include <vector>

namespace revkv::testing {

class RandomRequests {
 public:
  explicit RandomRequests(uint64_t seed) : rng_(seed) {}

  // A lease id of the pool, or one never granted (9).
  static constexpr int64_t kMissingLease = 9;
  int64_t lease_id() { return chance(90) ? static_cast<int64_t>(pick(4)) + 1 : kMissingLease; }
  int64_t lease_or_none() { return chance(70) ? 0 : lease_id(); }

  size_t pick(size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng_); }
  bool chance(int percent) { return static_cast<int>(pick(100)) < percent; }

  std::string key() {
    static const std::vector<std::string> keys = {
        "a", "b", "c", "d", "e", "f/1", "f/2", "f/3", std::string(1, '\0'), "\xff", "b\xff"};
    // The empty key is refused ("key is not provided"), once in a while.
    if (chance(1)) return "";
    return keys[pick(keys.size())];
  }
  std::optional<std::string> end() {
    switch (pick(5)) {
      case 0:
        return std::nullopt;
      case 1:
        return std::string(1, '\0');  // every key >= key
      case 2:
        return std::string("f0");  // the prefix f/
      default:
        return key();
    }
  }
  std::string value() { return chance(5) ? "" : "v" + std::to_string(pick(1000)); }
  // -1 .. current+2: the newest, old ones (perhaps compacted) and future ones.
  int64_t revision(int64_t current) { return static_cast<int64_t>(pick(current + 4)) - 1; }

  storage::RangeRequest range(int64_t current) {
    storage::RangeRequest r;
    r.key = key();
    r.range_end = end();
    if (chance(30)) r.revision = revision(current);
    if (chance(30)) r.limit = static_cast<int64_t>(pick(5)) - 1;
    if (chance(25)) {
      r.sort_order = static_cast<int32_t>(pick(3));
      r.sort_target = static_cast<int32_t>(pick(5));
    }
    r.keys_only = chance(10);
    r.count_only = chance(10);
    r.serializable = chance(10);
    if (chance(8)) r.min_mod_revision = revision(current);
    if (chance(8)) r.max_mod_revision = revision(current);
    if (chance(8)) r.min_create_revision = revision(current);
    if (chance(8)) r.max_create_revision = revision(current);
    return r;
  }
  storage::PutRequest put() {
    storage::PutRequest p;
    p.key = key();
    p.value = value();
    p.lease = lease_or_none();
    p.prev_kv = chance(30);
    if (chance(8)) {
      p.ignore_value = true;
      p.value.clear();
    }
    if (chance(8)) {
      p.ignore_lease = true;
      p.lease = 0;
    }
    return p;
  }
  storage::DeleteRangeRequest del() {
    storage::DeleteRangeRequest d;
    d.key = key();
    d.range_end = chance(50) ? std::nullopt : end();
    d.prev_kv = chance(40);
    return d;
  }
  storage::Compare compare(int64_t current) {
    storage::Compare c;
    c.key = key();
    if (chance(15)) c.range_end = end();
    // Now and then a result etcd does not know (evaluates true).
    c.target = static_cast<int32_t>(pick(5));
    c.result = chance(2) ? 4 : static_cast<int32_t>(pick(4));
    // Mostly the union member of the target; sometimes another one or none.
    if (chance(90)) {
      c.union_kind = static_cast<storage::CompareTarget>(chance(90) ? c.target % 5 : pick(5));
    }
    if (c.union_kind == storage::CompareTarget::lease) {
      c.number = chance(50) ? 0 : lease_id();
    } else {
      c.number = static_cast<int64_t>(pick(current + 2));
    }
    c.value = value();
    return c;
  }
  storage::RequestOp op(int64_t current, int depth) {
    storage::RequestOp op;
    switch (pick(depth > 0 ? 4 : 3)) {
      case 0:
        op.op = range(current);
        break;
      case 1:
        op.op = put();
        break;
      case 2:
        op.op = del();
        break;
      default:
        op.op = storage::Box<storage::TxnRequest>(txn(current, depth - 1));
        break;
    }
    return op;
  }
  storage::TxnRequest txn(int64_t current, int depth = 2) {
    storage::TxnRequest t;
    for (size_t i = pick(4); i > 0; --i)
      t.compare.push_back(compare(current));
    for (size_t i = pick(4); i > 0; --i)
      t.success.push_back(op(current, depth));
    for (size_t i = pick(3); i > 0; --i)
      t.failure.push_back(op(current, depth));
    return t;
  }
  // A txn whose one compare has a target etcd does not know, and nothing else wrong: etcd
  // and both doors evaluate it (the target compares as equal).
  storage::TxnRequest unknown_compare_target(int64_t current) {
    storage::TxnRequest t;
    storage::Compare c;
    c.key = "a";
    c.target = 5;
    c.union_kind = storage::CompareTarget::version;
    t.compare.push_back(std::move(c));
    // The compare holds (an unknown target compares as equal, EQUAL is the default
    // result): the range is served.
    storage::RequestOp op;
    op.op = range(current);
    t.success.push_back(std::move(op));
    return t;
  }
  // More operations than --max-txn-ops (128 by default) allows.
  storage::TxnRequest too_many_ops(int64_t current) {
    storage::TxnRequest t;
    for (int i = 0; i < 129; ++i) {
      storage::RequestOp op;
      op.op = range(current);
      t.success.push_back(std::move(op));
    }
    return t;
  }

 private:
  std::mt19937_64 rng_;
};

// The seeds named in the environment variable `env` ("1,2,3"), else `fallback`.
inline std::vector<uint64_t> seeds_from(const char* env, std::vector<uint64_t> fallback) {
  const char* value = std::getenv(env);
  if (value == nullptr || *value == '\0') return fallback;
  std::vector<uint64_t> out;
  std::stringstream in(value);
  std::string item;
  while (std::getline(in, item, ','))
    out.push_back(std::stoull(item));
  return out;
}
// The count in the environment variable `env`, else `fallback`.
inline int count_from(const char* env, int fallback) {
  const char* value = std::getenv(env);
  return value != nullptr && *value != '\0' ? std::atoi(value) : fallback;
}

// SPEC §11-D1, a documented deviation: etcd's duplicate-key check takes a delete to "\0"
// inside a Txn as an empty interval, revkv as [key, +inf). The tests against a real etcd
// send such deletes (in `ops` and the Txns nested there) with an end past every key the
// generator uses, where the two agree.
inline void with_explicit_delete_ends(std::vector<storage::RequestOp>& ops) {
  for (auto& op : ops) {
    if (auto* d = std::get_if<storage::DeleteRangeRequest>(&op.op)) {
      if (d->range_end == std::string(1, '\0')) d->range_end = std::string(3, '\xff');
    } else if (auto* t = std::get_if<storage::Box<storage::TxnRequest>>(&op.op)) {
      with_explicit_delete_ends((*t)->success);
      with_explicit_delete_ends((*t)->failure);
    }
  }
}

}  // namespace revkv::testing
