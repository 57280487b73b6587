// The sharded node against the reference engine: the same random request sequence, sent
// one request at a time, must get identical answers from storage::Store and from revkvd
// with 1, 4 and 7 shards (responses compared field by field and as encoded bytes).

#include "client/client.hpp"
#include "protocol/codec.hpp"
#include "storage/keyspace_set.hpp"
#include "storage/store.hpp"
#include "tests/monitoring/scrape.hpp"
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

// storage::Store as the reference, and revkvd nodes with the given shard counts (--sync
// never), one MessagePack client each. Each request goes to the store and to every node,
// and every node's answer must be the store's.
struct Fleet {
  explicit Fleet(const std::vector<int>& shard_counts) {
    storage::StoreOptions so;
    so.backend.sync = false;
    auto opened = storage::Store::open(dir.sub("reference"), so);
    REQUIRE(opened.ok());
    store = std::move(*opened);
    nodes.resize(shard_counts.size());
    clients.resize(shard_counts.size());
    for (size_t i = 0; i < shard_counts.size(); ++i)
      start(i, shard_counts[i]);
  }
  ~Fleet() {
    for (auto& n : nodes)
      CHECK(n->stop() == 0);
  }

  // Node i on its own data directory (again, after a kill, with any shard count).
  void start(size_t i, int shards) {
    nodes[i] = std::make_unique<testing::NodeProcess>(
        dir.sub("node" + std::to_string(i)),
        std::vector<std::string>{"--shards", std::to_string(shards), "--sync", "never"});
    auto c = client::Client::connect(nodes[i]->endpoint());
    REQUIRE(c.ok());
    clients[i] = std::move(c).value();
  }

  // The store's answer and every node's answer to `ask(client)` must be the same.
  template <class StoreAnswer, class Ask>
  void expect_same(const StoreAnswer& from_reference, Ask ask) {
    const Answer want = from_store(from_reference);
    for (auto& c : clients)
      REQUIRE(from_node(ask(*c)) == want);
  }
  void put(const storage::PutRequest& r) {
    expect_same(store->put(r), [&](client::Client& c) { return c.put(r); });
  }
  void delete_range(const storage::DeleteRangeRequest& r) {
    expect_same(store->delete_range(r), [&](client::Client& c) { return c.delete_range(r); });
  }
  void range(const storage::RangeRequest& r) {
    expect_same(store->range(r), [&](client::Client& c) { return c.range(r); });
  }
  void txn(const storage::TxnRequest& r) {
    expect_same(store->txn(r), [&](client::Client& c) { return c.txn(r); });
  }
  void compact(int64_t rev) {
    expect_same(store->compact(rev, /*physical=*/true), [&](client::Client& c) {
      return c.compact(protocol::CompactionRequest{rev, true});
    });
  }

  testing::TempDir dir;
  std::unique_ptr<storage::Store> store;
  std::vector<std::unique_ptr<testing::NodeProcess>> nodes;
  std::vector<std::optional<client::Client>> clients;
};

}  // namespace

TEST_CASE("differential: nodes with 1, 4 and 7 shards answer like storage::Store",
          "[node][differential]") {
  Fleet fleet({1, 4, 7});
  auto& store = fleet.store;
  auto& clients = fleet.clients;

  const uint64_t seed = 20261126;
  const int ops = 1500;
  Generator gen(seed);
  CAPTURE(seed);
  for (int i = 0; i < ops; ++i) {
    CAPTURE(i);
    int64_t current = store->current_revision();
    size_t kind = gen.pick(100);
    if (kind < 30) {
      fleet.put(gen.put());
    } else if (kind < 45) {
      fleet.delete_range(gen.del());
    } else if (kind < 75) {
      fleet.range(gen.range(current));
    } else if (kind < 96) {
      fleet.txn(gen.txn(current));
    } else if (kind < 99) {
      fleet.compact(static_cast<int64_t>(gen.pick(current + 2)));
    } else {
      auto want = store->hash_kv(0);
      REQUIRE(want.ok());
      for (auto& c : clients) {
        auto got = c->hash_kv(protocol::HashKVRequest{0});
        REQUIRE(got.ok());
        CHECK(got.value().hash == want->hash);
        CHECK(got.value().hash_revision == want->hash_revision);
        CHECK(got.value().compact_revision == want->compact_revision);
        CHECK(got.value().header.revision == want->revision);
      }
    }
  }
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
    char buf[32];  // "p/" and up to 20 digits
    if (keys <= 100) {
      std::snprintf(buf, sizeof buf, "p/%02zu", n);
    } else {
      std::snprintf(buf, sizeof buf, "p/%04zu", n);
    }
    return buf;
  }
  // A put of a random key; `i` (the step) makes every value new.
  storage::PutRequest put(int i) {
    storage::PutRequest p;
    p.key = key();
    p.value = "value-" + std::to_string(i) + std::string(pick(64), 'x');
    return p;
  }
  // A delete of a random key, or half the time of the range from it to a key at most
  // `max_span` keys further.
  storage::DeleteRangeRequest del(size_t max_span) {
    storage::DeleteRangeRequest d;
    const size_t from = pick(keys);
    d.key = key(from);
    if (chance(50)) d.range_end = key(std::min(keys - 1, from + 1 + pick(max_span)));
    return d;
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

// Every key of `gen` once, in key order ("first-<n>"): the keyspace the pages walk.
void put_every_key(Fleet& fleet, const RangeHeavy& gen) {
  for (size_t k = 0; k < gen.keys; ++k) {
    storage::PutRequest p;
    p.key = gen.key(k);
    p.value = "first-" + std::to_string(k);
    fleet.put(p);
  }
}

}  // namespace

TEST_CASE(
    "differential: range-heavy sequences with crashes and restarts answer like storage::Store",
    "[node][differential]") {
  // The latest column serves ranges at the head; deletes, compactions, kill -9 and restarts
  // (one of them with another shard count, which lays the column out again) happen between.
  std::vector<int> shard_counts = {1, 4};
  Fleet fleet(shard_counts);

  const uint64_t seed = 20261202;
  RangeHeavy gen(seed);
  CAPTURE(seed);
  for (int i = 0; i < 1200; ++i) {
    CAPTURE(i);
    int64_t current = fleet.store->current_revision();
    size_t kind = gen.pick(100);
    if (kind < 25) {
      fleet.put(gen.put(i));
    } else if (kind < 33) {
      fleet.delete_range(gen.del(gen.keys));
    } else if (kind < 95) {
      fleet.range(gen.range(current, fleet.store->compact_revision()));
    } else if (kind < 98) {
      fleet.compact(std::max<int64_t>(1, current - static_cast<int64_t>(gen.pick(20))));
    } else {
      // A crash and a restart; the second time the 4-shard node comes back with 7 shards.
      size_t n = gen.pick(fleet.nodes.size());
      fleet.nodes[n]->kill9();
      if (n == 1 && shard_counts[1] == 4) shard_counts[1] = 7;
      fleet.start(n, shard_counts[n]);
    }
  }
}

TEST_CASE("differential: LIST-sized pages over many shards answer like storage::Store",
          "[node][differential]") {
  // Pages over several shards fetch each shard's share of the page and a margin
  // (actors/page_shares.hpp): 1500 keys, limits from 100 to 400, with puts, deletes,
  // compactions and reads in the past between them, on 1, 4 and 7 shards.
  Fleet fleet({1, 4, 7});

  const uint64_t seed = 20261203;
  RangeHeavy gen(seed, 1500, 100, 400);
  CAPTURE(seed);
  put_every_key(fleet, gen);
  for (int i = 0; i < 400; ++i) {
    CAPTURE(i);
    const int64_t current = fleet.store->current_revision();
    const size_t kind = gen.pick(100);
    if (kind < 25) {
      fleet.put(gen.put(i));
    } else if (kind < 30) {
      fleet.delete_range(gen.del(40));  // at most 40 keys: the pages stay long
    } else if (kind < 97) {
      fleet.range(gen.range(current, fleet.store->compact_revision()));
    } else {
      fleet.compact(std::max<int64_t>(1, current - static_cast<int64_t>(gen.pick(50))));
    }
  }
}

TEST_CASE("differential: pages whose keys sit on one shard answer like storage::Store",
          "[node][differential]") {
  // Keys that all hash to shard 0 or 1 with 4 shards and with 7: a page of them is far more
  // than those shards' shares (actors/page_shares.hpp), so they are asked for the rest of
  // their parts in a second round. Among them, keys spread over every shard as usual.
  Fleet fleet({1, 4, 7});
  // 300 keys on shard 0 and 200 on shard 1 (both with 4 shards and with 7), interleaved:
  // a page can find two shards short at once.
  std::vector<std::string> keys;
  size_t on_0 = 0;
  size_t on_1 = 0;
  for (int n = 0; on_0 < 300 || on_1 < 200; ++n) {
    std::string key = "q/" + std::to_string(100000 + n);
    const size_t s4 = storage::shard_of(key, 4);
    if (s4 != storage::shard_of(key, 7)) continue;
    if (s4 == 0 && on_0 < 300) {
      ++on_0;
      keys.push_back(key);
    } else if (s4 == 1 && on_1 < 200) {
      ++on_1;
      keys.push_back(key);
    }
  }
  for (int n = 0; n < 100; ++n)
    keys.push_back("q/" + std::to_string(100000 + n) + "-spread");
  for (size_t i = 0; i < keys.size(); ++i) {
    storage::PutRequest p;
    p.key = keys[i];
    p.value = "v" + std::to_string(i);
    fleet.put(p);
  }
  for (int64_t limit : {1, 20, 100, 150, 399, 400, 401, 600}) {
    CAPTURE(limit);
    storage::RangeRequest r;
    r.key = "q/";
    r.range_end = std::string("q0");
    r.limit = limit;
    for (int page = 0; page < 500; ++page) {
      CAPTURE(page);
      fleet.range(r);
      auto answered = fleet.store->range(r);
      REQUIRE(answered.ok());
      if (!answered->more) break;
      r.key = answered->kvs.back().key + '\0';
    }
  }
  // The node with one shard never needs it; the others did.
  CHECK(testing::sample(testing::scrape_metrics(fleet.nodes[0]->metrics_port()),
                        "revkv_range_shares_short_total") == 0);
  for (size_t i = 1; i < fleet.nodes.size(); ++i) {
    CHECK(testing::sample(testing::scrape_metrics(fleet.nodes[i]->metrics_port()),
                          "revkv_range_shares_short_total") > 0);
  }
}

TEST_CASE("differential: LISTs continued from each page's last key answer like storage::Store",
          "[node][differential]") {
  // Each page of a LIST starts just after the last key of the page before (that key + "\0"),
  // at the first page's revision or at the current one: the node carries each page's count to
  // the next (actors/range_count_cache.hpp). Puts, deletes and compactions land between pages,
  // so the current revision moves under the LISTs that follow it and pinned ones can become
  // compacted; pages are short and long (limits 1-20 and 100-200, fetched by shares on several
  // shards), keys-only, or sorted by another target (the continuation then starts elsewhere).
  Fleet fleet({1, 4, 7});

  const uint64_t seed = 20261204;
  RangeHeavy gen(seed, 600, 1, 200);
  CAPTURE(seed);
  put_every_key(fleet, gen);
  int step = 0;
  for (int list = 0; list < 50; ++list) {
    CAPTURE(list);
    storage::RangeRequest r;
    r.key = gen.chance(50) ? std::string("p/") : gen.key();
    r.range_end = gen.chance(50) ? std::string("p0") : gen.key();
    if (*r.range_end < r.key) std::swap(r.key, *r.range_end);
    r.limit = gen.chance(50) ? 1 + static_cast<int64_t>(gen.pick(20))
                             : 100 + static_cast<int64_t>(gen.pick(101));
    const bool pinned = gen.chance(50);
    if (pinned) {
      const int64_t lo = std::max<int64_t>(1, fleet.store->compact_revision());
      const int64_t current = fleet.store->current_revision();
      r.revision = lo + static_cast<int64_t>(gen.pick(static_cast<size_t>(current - lo + 1)));
    }
    r.keys_only = gen.chance(20);
    if (gen.chance(15)) r.sort_target = static_cast<int32_t>(1 + gen.pick(4));
    for (int page = 0; page < 60; ++page) {
      CAPTURE(page);
      fleet.range(r);
      auto answered = fleet.store->range(r);
      if (!answered.ok() || !answered->more || answered->kvs.empty()) break;
      r.key = answered->kvs.back().key + '\0';
      if (gen.chance(30)) fleet.put(gen.put(++step));
      if (gen.chance(10)) fleet.delete_range(gen.del(20));
      if (gen.chance(3)) {
        const int64_t current = fleet.store->current_revision();
        fleet.compact(std::max<int64_t>(1, current - static_cast<int64_t>(gen.pick(40))));
      }
    }
  }
  // The carried counts were used (else this test compared only the walks).
  for (auto& node : fleet.nodes) {
    const auto scraped = testing::scrape_metrics(node->metrics_port());
    CHECK(testing::sample(scraped, "revkv_range_counts_carried_total") > 0);
  }
}
