// The sharded node against the reference engine: the same random request sequence, sent
// one request at a time, must get identical answers from storage::Store and from revkvd
// with 1, 4 and 7 shards (responses compared field by field and as encoded bytes).

#include "client/client.hpp"
#include "protocol/codec.hpp"
#include "storage/store.hpp"
#include "tests/node/node_process.hpp"
#include "tests/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <random>

using namespace revkv;
using storage::Errc;

namespace {

const std::vector<std::string> kKeys = {
    "a",    "b",    "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", std::string(1, '\0'),
    "\xff", "b\xff"};

class Generator {
 public:
  explicit Generator(uint64_t seed) : rng_(seed) {}

  std::string key() { return kKeys[pick(kKeys.size())]; }
  std::optional<std::string> end() {
    switch (pick(4)) {
      case 0:
        return std::nullopt;
      case 1:
        return std::string(1, '\0');
      default:
        return kKeys[pick(kKeys.size())];
    }
  }
  std::string value() { return "v" + std::to_string(pick(1000)); }
  int64_t revision(int64_t current) { return static_cast<int64_t>(pick(current + 3)) - 1; }
  size_t pick(size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng_); }
  bool chance(int percent) { return static_cast<int>(pick(100)) < percent; }

  storage::RangeRequest range(int64_t current) {
    storage::RangeRequest r;
    r.key = key();
    r.range_end = end();
    if (chance(30)) r.revision = revision(current);
    if (chance(30)) r.limit = static_cast<int64_t>(pick(5)) - 1;
    if (chance(20)) {
      r.sort_order = static_cast<int32_t>(pick(3));
      r.sort_target = static_cast<int32_t>(pick(4));  // not VALUE: ties differ in no field
    }
    r.keys_only = chance(10);
    r.count_only = chance(10);
    if (chance(10)) r.min_mod_revision = revision(current);
    if (chance(10)) r.max_create_revision = revision(current);
    return r;
  }
  storage::PutRequest put() {
    storage::PutRequest p;
    p.key = key();
    p.value = value();
    p.prev_kv = chance(30);
    if (chance(10)) {
      p.ignore_value = true;
      p.value.clear();
    }
    return p;
  }
  storage::DeleteRangeRequest del() {
    storage::DeleteRangeRequest d;
    d.key = key();
    d.range_end = chance(60) ? std::nullopt : end();
    d.prev_kv = chance(30);
    return d;
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
  storage::TxnRequest txn(int64_t current, int depth = 1) {
    storage::TxnRequest t;
    for (size_t i = pick(3); i > 0; --i) {
      storage::Compare c;
      c.key = key();
      if (chance(20)) c.range_end = end();
      c.target = static_cast<int32_t>(pick(5));
      c.result = static_cast<int32_t>(pick(4));
      c.union_kind = static_cast<storage::CompareTarget>(c.target);
      c.number = static_cast<int64_t>(pick(current + 2));
      c.value = value();
      t.compare.push_back(std::move(c));
    }
    for (size_t i = pick(4); i > 0; --i)
      t.success.push_back(op(current, depth));
    for (size_t i = pick(3); i > 0; --i)
      t.failure.push_back(op(current, depth));
    return t;
  }

 private:
  std::mt19937_64 rng_;
};

// One answer, in a form both sides produce: the error, or the encoded response.
struct Answer {
  std::optional<std::pair<int64_t, std::string>> error;
  std::string encoded;
  friend bool operator==(const Answer&, const Answer&) = default;
};

std::ostream& operator<<(std::ostream& os, const Answer& a) {
  if (a.error) return os << "error " << a.error->first << " " << a.error->second;
  return os << "response of " << a.encoded.size() << " bytes";
}

const protocol::ResponseHeader kHeader{1, 2, 0, 3};

template <class T>
Answer from_store(const storage::Result<T>& r) {
  if (!r.ok()) {
    auto w = protocol::to_wire_error(r.error());
    return Answer{std::make_pair(w.code, w.message), {}};
  }
  return Answer{std::nullopt, protocol::encode_kv_to_string(kHeader, *r)};
}

template <class T>
Answer from_node(const client::Result<protocol::KvResponse<T>>& r) {
  if (!r.ok()) return Answer{std::make_pair(r.error().code, r.error().message), {}};
  return Answer{std::nullopt, protocol::encode_kv_to_string(kHeader, r.value().response)};
}

}  // namespace

TEST_CASE("differential: nodes with 1, 4 and 7 shards answer like storage::Store",
          "[node][differential]") {
  testing::TempDir dir;
  storage::StoreOptions so;
  so.backend.sync = false;
  auto store = storage::Store::open(dir.sub("reference"), so);
  REQUIRE(store.ok());

  std::vector<std::unique_ptr<testing::NodeProcess>> nodes;
  std::vector<client::Client> clients;
  for (int shards : {1, 4, 7}) {
    nodes.push_back(std::make_unique<testing::NodeProcess>(
        dir.sub("node" + std::to_string(shards)),
        std::vector<std::string>{"--shards", std::to_string(shards), "--sync", "never"}));
    auto c = client::Client::connect(nodes.back()->endpoint());
    REQUIRE(c.ok());
    clients.push_back(std::move(c).value());
  }

  const uint64_t seed = 20261126;
  const int ops = 1500;
  Generator gen(seed);
  CAPTURE(seed);
  for (int i = 0; i < ops; ++i) {
    CAPTURE(i);
    int64_t current = (*store)->current_revision();
    size_t kind = gen.pick(100);
    if (kind < 30) {
      auto r = gen.put();
      auto want = from_store((*store)->put(r));
      for (auto& c : clients)
        REQUIRE(from_node(c.put(r)) == want);
    } else if (kind < 45) {
      auto r = gen.del();
      auto want = from_store((*store)->delete_range(r));
      for (auto& c : clients)
        REQUIRE(from_node(c.delete_range(r)) == want);
    } else if (kind < 75) {
      auto r = gen.range(current);
      auto want = from_store((*store)->range(r));
      for (auto& c : clients)
        REQUIRE(from_node(c.range(r)) == want);
    } else if (kind < 96) {
      auto r = gen.txn(current);
      auto want = from_store((*store)->txn(r));
      for (auto& c : clients)
        REQUIRE(from_node(c.txn(r)) == want);
    } else if (kind < 99) {
      int64_t rev = static_cast<int64_t>(gen.pick(current + 2));
      auto want = from_store((*store)->compact(rev, /*physical=*/true));
      for (auto& c : clients) {
        REQUIRE(from_node(c.compact(protocol::CompactionRequest{rev, true})) == want);
      }
    } else {
      auto want = (*store)->hash_kv(0);
      REQUIRE(want.ok());
      for (auto& c : clients) {
        auto got = c.hash_kv(protocol::HashKVRequest{0});
        REQUIRE(got.ok());
        CHECK(got.value().hash == want->hash);
        CHECK(got.value().hash_revision == want->hash_revision);
        CHECK(got.value().compact_revision == want->compact_revision);
        CHECK(got.value().header.revision == want->revision);
      }
    }
  }
  for (auto& n : nodes)
    CHECK(n->stop() == 0);
}

namespace {

// Range-heavy requests over a larger keyspace: `keys` keys "p/00".."p/79" (80 by default;
// "p/0000".. past 100), pages with limits from `min_limit` to `max_limit`, sorts, filters
// and past revisions.
struct RangeHeavy {
  explicit RangeHeavy(uint64_t seed, size_t keys = 80, int64_t min_limit = 1,
                      int64_t max_limit = 12)
      : rng(seed), keys(keys), min_limit(min_limit), max_limit(max_limit) {}
  std::mt19937_64 rng;
  size_t keys;
  int64_t min_limit;
  int64_t max_limit;

  size_t pick(size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng); }
  bool chance(int percent) { return static_cast<int>(pick(100)) < percent; }
  std::string key() { return key(pick(keys)); }
  std::string key(size_t n) const {
    char buf[16];
    if (keys <= 100) {
      std::snprintf(buf, sizeof buf, "p/%02zu", n);
    } else {
      std::snprintf(buf, sizeof buf, "p/%04zu", n);
    }
    return buf;
  }
  storage::RangeRequest range(int64_t current, int64_t compacted) {
    storage::RangeRequest r;
    r.key = chance(20) ? std::string("p/") : key();
    r.range_end = chance(20) ? std::string("p0") : key();
    if (*r.range_end < r.key) std::swap(r.key, *r.range_end);
    if (chance(25)) {
      int64_t lo = std::max<int64_t>(1, compacted);
      r.revision = lo + static_cast<int64_t>(pick(static_cast<size_t>(current - lo + 1)));
    }
    if (chance(60))
      r.limit =
          min_limit + static_cast<int64_t>(pick(static_cast<size_t>(max_limit - min_limit + 1)));
    if (chance(20)) {
      r.sort_order = static_cast<int32_t>(pick(3));
      r.sort_target = static_cast<int32_t>(pick(4));
    }
    r.keys_only = chance(10);
    r.count_only = chance(5);
    if (chance(10)) r.min_mod_revision = static_cast<int64_t>(pick(static_cast<size_t>(current)));
    if (chance(10))
      r.max_create_revision = static_cast<int64_t>(pick(static_cast<size_t>(current)));
    return r;
  }
};

}  // namespace

TEST_CASE(
    "differential: range-heavy sequences with crashes and restarts answer like storage::Store",
    "[node][differential]") {
  // The latest column serves ranges at the head; deletes, compactions, kill -9 and restarts
  // (one of them with another shard count, which lays the column out again) happen between.
  testing::TempDir dir;
  storage::StoreOptions so;
  so.backend.sync = false;
  auto store = storage::Store::open(dir.sub("reference"), so);
  REQUIRE(store.ok());

  std::vector<int> shard_counts = {1, 4};
  std::vector<std::unique_ptr<testing::NodeProcess>> nodes;
  std::vector<client::Client> clients;
  nodes.resize(shard_counts.size());
  clients.reserve(shard_counts.size());
  for (size_t i = 0; i < shard_counts.size(); ++i) {
    nodes[i] = std::make_unique<testing::NodeProcess>(
        dir.sub("node" + std::to_string(i)),
        std::vector<std::string>{"--shards", std::to_string(shard_counts[i]), "--sync", "never"});
    auto c = client::Client::connect(nodes[i]->endpoint());
    REQUIRE(c.ok());
    clients.push_back(std::move(c).value());
  }

  const uint64_t seed = 20261202;
  RangeHeavy gen(seed);
  CAPTURE(seed);
  for (int i = 0; i < 1200; ++i) {
    CAPTURE(i);
    int64_t current = (*store)->current_revision();
    size_t kind = gen.pick(100);
    if (kind < 25) {
      storage::PutRequest p;
      p.key = gen.key();
      p.value = "value-" + std::to_string(i) + std::string(gen.pick(64), 'x');
      auto want = from_store((*store)->put(p));
      for (auto& c : clients)
        REQUIRE(from_node(c.put(p)) == want);
    } else if (kind < 33) {
      storage::DeleteRangeRequest d;
      d.key = gen.key();
      if (gen.chance(50)) {
        d.range_end = gen.key();
        if (*d.range_end < d.key) std::swap(d.key, *d.range_end);
      }
      auto want = from_store((*store)->delete_range(d));
      for (auto& c : clients)
        REQUIRE(from_node(c.delete_range(d)) == want);
    } else if (kind < 95) {
      auto r = gen.range(current, (*store)->compact_revision());
      auto want = from_store((*store)->range(r));
      for (auto& c : clients)
        REQUIRE(from_node(c.range(r)) == want);
    } else if (kind < 98) {
      int64_t rev = std::max<int64_t>(1, current - static_cast<int64_t>(gen.pick(20)));
      auto want = from_store((*store)->compact(rev, /*physical=*/true));
      for (auto& c : clients)
        REQUIRE(from_node(c.compact(protocol::CompactionRequest{rev, true})) == want);
    } else {
      // A crash and a restart; the second time the 4-shard node comes back with 7 shards.
      size_t n = gen.pick(nodes.size());
      nodes[n]->kill9();
      if (n == 1 && shard_counts[1] == 4) shard_counts[1] = 7;
      nodes[n] = std::make_unique<testing::NodeProcess>(
          dir.sub("node" + std::to_string(n)),
          std::vector<std::string>{"--shards", std::to_string(shard_counts[n]), "--sync", "never"});
      auto c = client::Client::connect(nodes[n]->endpoint());
      REQUIRE(c.ok());
      clients[n] = std::move(c).value();
    }
  }
  for (auto& n : nodes)
    CHECK(n->stop() == 0);
}

TEST_CASE("differential: LIST-sized pages over many shards answer like storage::Store",
          "[node][differential]") {
  // Pages of 128 keys or more over several shards list their keys first and then read only
  // the page's values (actors/request_path.cpp, keys_before_values): 1500 keys, limits from
  // 100 to 400 (on both sides of the threshold), with puts, deletes, compactions and reads in
  // the past between them, on 1, 4 and 7 shards.
  testing::TempDir dir;
  storage::StoreOptions so;
  so.backend.sync = false;
  auto store = storage::Store::open(dir.sub("reference"), so);
  REQUIRE(store.ok());
  std::vector<std::unique_ptr<testing::NodeProcess>> nodes;
  std::vector<client::Client> clients;
  for (int shards : {1, 4, 7}) {
    nodes.push_back(std::make_unique<testing::NodeProcess>(
        dir.sub("node" + std::to_string(shards)),
        std::vector<std::string>{"--shards", std::to_string(shards), "--sync", "never"}));
    auto c = client::Client::connect(nodes.back()->endpoint());
    REQUIRE(c.ok());
    clients.push_back(std::move(c).value());
  }

  const uint64_t seed = 20261203;
  RangeHeavy gen(seed, 1500, 100, 400);
  CAPTURE(seed);
  for (size_t k = 0; k < gen.keys; ++k) {
    storage::PutRequest p;
    p.key = gen.key(k);
    p.value = "first-" + std::to_string(k);
    auto want = from_store((*store)->put(p));
    for (auto& c : clients)
      REQUIRE(from_node(c.put(p)) == want);
  }
  for (int i = 0; i < 400; ++i) {
    CAPTURE(i);
    const int64_t current = (*store)->current_revision();
    const size_t kind = gen.pick(100);
    if (kind < 25) {
      storage::PutRequest p;
      p.key = gen.key();
      p.value = "value-" + std::to_string(i) + std::string(gen.pick(64), 'x');
      auto want = from_store((*store)->put(p));
      for (auto& c : clients)
        REQUIRE(from_node(c.put(p)) == want);
    } else if (kind < 30) {
      storage::DeleteRangeRequest d;
      d.key = gen.key();
      if (gen.chance(50)) d.range_end = gen.key(std::min(gen.keys, gen.pick(gen.keys) + 40));
      if (d.range_end && *d.range_end < d.key) std::swap(d.key, *d.range_end);
      auto want = from_store((*store)->delete_range(d));
      for (auto& c : clients)
        REQUIRE(from_node(c.delete_range(d)) == want);
    } else if (kind < 97) {
      auto r = gen.range(current, (*store)->compact_revision());
      auto want = from_store((*store)->range(r));
      for (auto& c : clients)
        REQUIRE(from_node(c.range(r)) == want);
    } else {
      const int64_t rev = std::max<int64_t>(1, current - static_cast<int64_t>(gen.pick(50)));
      auto want = from_store((*store)->compact(rev, /*physical=*/true));
      for (auto& c : clients)
        REQUIRE(from_node(c.compact(protocol::CompactionRequest{rev, true})) == want);
    }
  }
  for (auto& n : nodes)
    CHECK(n->stop() == 0);
}
