#include "storage/store.hpp"

#include "tests/temp_dir.hpp"

#include <catch2/catch.hpp>
#include <rocksdb/perf_context.h>
#include <rocksdb/perf_level.h>
#include <rocksdb/statistics.h>

#include <algorithm>
#include <cstdio>
#include <limits>

using namespace revkv::storage;
using revkv::testing::TempDir;

namespace {

std::unique_ptr<Store> open_store(const std::string& dir, StoreOptions o = {}) {
  auto s = Store::open(dir, o);
  if (!s.ok()) FAIL(s.error().message());
  return std::move(*s);
}

int64_t put(Store& s, std::string key, std::string value, int64_t lease = 0) {
  auto r = s.put(PutRequest{std::move(key), std::move(value), lease});
  REQUIRE(r.ok());
  return r->revision;
}

RangeRequest range_of(std::string key, std::optional<std::string> end = std::nullopt,
                      int64_t rev = 0) {
  RangeRequest r;
  r.key = std::move(key);
  r.range_end = std::move(end);
  r.revision = rev;
  return r;
}

std::vector<std::string> keys_of(const RangeResponse& r) {
  std::vector<std::string> out;
  for (const auto& kv : r.kvs)
    out.push_back(kv.key);
  return out;
}

template <class T>
Errc code_of(const Result<T>& r) {
  return r.ok() ? Errc::ok : r.error().code();
}

}  // namespace

TEST_CASE("store: bad input gets etcd errors and changes nothing", "[store]") {
  TempDir dir;
  auto s = open_store(dir.str());
  put(*s, "a", "1");

  CHECK(code_of(s->put(PutRequest{"", "x"})) == Errc::empty_key);
  CHECK(s->put(PutRequest{"", "x"}).error().message() == "etcdserver: key is not provided");
  CHECK(code_of(s->delete_range(DeleteRangeRequest{})) == Errc::empty_key);
  CHECK(code_of(s->range(RangeRequest{})) == Errc::empty_key);

  // Reversed and empty intervals select nothing; they are not errors.
  auto reversed = s->range(range_of("z", std::string("a")));
  REQUIRE(reversed.ok());
  CHECK(reversed->count == 0);
  auto del = s->delete_range(DeleteRangeRequest{"z", std::string("a"), false});
  REQUIRE(del.ok());
  CHECK(del->deleted == 0);

  // Negative limit means unlimited.
  auto neg = range_of("a", std::string("z"));
  neg.limit = -5;
  CHECK(s->range(neg)->kvs.size() == 1);

  CHECK(code_of(s->range(range_of("a", std::nullopt, 3))) == Errc::future_revision);
  CHECK(code_of(s->range(range_of("a", std::nullopt, INT64_MAX))) == Errc::future_revision);
  CHECK(code_of(s->compact(INT64_MAX)) == Errc::future_revision);
  CHECK(code_of(s->hash_kv(99)) == Errc::future_revision);
  CHECK(code_of(s->events(1, 99)) == Errc::future_revision);
  CHECK(code_of(s->lease_grant(1, 9'000'000'001)) == Errc::lease_ttl_too_large);
  CHECK(code_of(s->lease_revoke(42)) == Errc::lease_not_found);
  CHECK(code_of(s->put(PutRequest{"k", "v", 42})) == Errc::lease_not_found);

  auto bad_sort = range_of("a");
  bad_sort.sort_order = -1;
  CHECK(code_of(s->range(bad_sort)) == Errc::invalid_sort_option);

  CHECK(s->current_revision() == 2);

  StoreOptions zero;
  zero.max_txn_ops = 0;
  CHECK(code_of(Store::open(dir.sub("other"), zero)) == Errc::invalid_argument);
}

TEST_CASE("store: compaction runs in bounded batches and resumes after a crash", "[store]") {
  TempDir dir;
  StoreOptions o;
  o.compaction_batch_limit = 7;
  {
    auto s = open_store(dir.str(), o);
    for (int i = 0; i < 50; ++i)
      put(*s, "k" + std::to_string(i % 5), "v" + std::to_string(i));
    REQUIRE(s->compact(40, /*physical=*/false).ok());
    CHECK(s->compaction_pending());
    auto step = s->compaction_step();
    REQUIRE(step.ok());
    CHECK_FALSE(*step);  // 7 of ~40 records scanned: more to do
    // Reads at and above the compact revision are unaffected mid-way.
    auto r = s->range(range_of("k0", std::nullopt, 40));
    REQUIRE(r.ok());
    CHECK(r->kvs.at(0).value == "v35");
    CHECK(r->kvs.at(0).version == 8);
    REQUIRE(s->close().ok());  // "crash" with the compaction half done
  }
  auto s = open_store(dir.str(), o);
  CHECK_FALSE(s->compaction_pending());  // finished during open
  CHECK(s->compact_revision() == 40);
  auto r = s->range(range_of("k", std::string("l"), 40));
  REQUIRE(r.ok());
  CHECK(r->count == 5);
  CHECK(r->kvs.at(0).value == "v35");
  CHECK(code_of(s->range(range_of("k0", std::nullopt, 39))) == Errc::compacted);
  // Only the records each key needs remain: 5 at/below 40 plus the 11 above it.
  CHECK(s->index_revisions() == 5 + 11);
  CHECK(code_of(s->events(39, 40)) == Errc::compacted);
}

TEST_CASE("store: events of a revision range, with prev_kv", "[store]") {
  TempDir dir;
  auto s = open_store(dir.str());
  put(*s, "a", "1");
  put(*s, "a", "2");
  REQUIRE(s->delete_range(DeleteRangeRequest{"a", std::nullopt, false}).ok());
  auto evs = s->events(2, 4, /*prev_kv=*/true);
  REQUIRE(evs.ok());
  REQUIRE(evs->size() == 3);
  CHECK((*evs)[0].type == Event::Type::put);
  CHECK_FALSE((*evs)[0].prev_kv.has_value());
  CHECK((*evs)[1].prev_kv->value == "1");
  CHECK((*evs)[2].type == Event::Type::del);
  CHECK((*evs)[2].kv == KeyValue{"a", 0, 4, 0, "", 0});
  CHECK((*evs)[2].prev_kv->value == "2");
  CHECK(s->events(3, 2)->empty());
}

TEST_CASE("store: snapshot and restore into a new data dir", "[store]") {
  TempDir dir;
  auto s = open_store(dir.sub("live"));
  put(*s, "a", "1");
  put(*s, "b", "2");
  REQUIRE(s->compact(2).ok());
  REQUIRE(s->lease_grant(7, 100).ok());
  auto hash = s->hash_kv(0);
  REQUIRE(hash.ok());
  REQUIRE(s->snapshot(dir.sub("snap")).ok());
  put(*s, "c", "after snapshot");

  REQUIRE(Store::restore(dir.sub("snap"), dir.sub("restored")).ok());
  CHECK(Store::restore(dir.sub("snap"), dir.sub("restored")).error().code() ==
        Errc::invalid_argument);
  CHECK(Store::restore(dir.sub("missing"), dir.sub("x")).error().code() == Errc::invalid_argument);
  auto r = open_store(dir.sub("restored"));
  CHECK(r->current_revision() == 3);
  CHECK(r->compact_revision() == 2);
  CHECK(r->lease_exists(7));
  CHECK(r->hash_kv(0)->hash == hash->hash);
  // A negative revision hashes no record, as etcd's HashByRev: the seed's CRC-32C.
  for (int64_t negative : {int64_t{-1}, int64_t{-2}, std::numeric_limits<int64_t>::min()}) {
    CHECK(r->hash_kv(negative)->hash == 1084519789u);
    CHECK(r->hash_kv(negative)->hash_revision == negative);
  }
  CHECK(keys_of(*r->range(range_of("a", std::string("z")))) == std::vector<std::string>{"a", "b"});
}

TEST_CASE("store: defragment after compaction shrinks the database", "[store]") {
  TempDir dir;
  StoreOptions o;
  o.backend.sync = false;
  o.backend.compression = Compression::none;
  auto s = open_store(dir.str(), o);
  std::string value(2000, 'x');
  for (int i = 0; i < 3000; ++i)
    put(*s, "k" + std::to_string(i % 10), value);
  REQUIRE(s->defragment().ok());
  auto before = s->size();
  REQUIRE(before.ok());
  CHECK(before->total_bytes > 3000u * 2000u / 2);
  REQUIRE(s->compact(s->current_revision()).ok());
  REQUIRE(s->defragment().ok());
  auto after = s->size();
  REQUIRE(after.ok());
  CHECK(after->total_bytes < before->total_bytes / 10);
  CHECK(after->in_use_bytes <= after->total_bytes);
}

TEST_CASE("store: leases persist, keep attachments and revoke atomically", "[store]") {
  TempDir dir;
  {
    auto s = open_store(dir.str());
    CHECK(s->lease_grant(5, 1)->ttl == 2);  // raised to the minimum TTL
    CHECK(code_of(s->lease_grant(5, 10)) == Errc::lease_exists);
    auto gen = s->lease_grant(0, 30);
    REQUIRE(gen.ok());
    CHECK(gen->id > 0);
    CHECK(gen->id != 5);
    REQUIRE(s->lease_grant(-3, 10).ok());  // negative ids are legal
    put(*s, "x", "1", 5);
    put(*s, "y", "1", 5);
    put(*s, "z", "1", -3);
    put(*s, "y", "2");  // detaches y
    REQUIRE(s->close().ok());
  }
  auto s = open_store(dir.str());
  CHECK(s->leases().size() == 3);
  CHECK(s->lease_keys(5) == std::vector<std::string>{"x"});
  CHECK(s->lease_keys(-3) == std::vector<std::string>{"z"});
  auto rev = s->lease_revoke(5);
  REQUIRE(rev.ok());
  CHECK(rev->revision == 6);
  CHECK(s->range(range_of("x"))->count == 0);
  CHECK(s->range(range_of("y"))->count == 1);
  // Revoking a lease with no keys does not take a revision.
  REQUIRE(s->lease_grant(9, 10).ok());
  CHECK(s->lease_revoke(9)->revision == 6);
  REQUIRE(s->close().ok());
  auto again = open_store(dir.str());
  CHECK_FALSE(again->lease_exists(5));
  CHECK_FALSE(again->lease_exists(9));
  CHECK(again->current_revision() == 6);
}

TEST_CASE("store: a closed store refuses every call", "[store]") {
  TempDir dir;
  auto s = open_store(dir.str());
  REQUIRE(s->close().ok());
  CHECK(code_of(s->put(PutRequest{"a", "1"})) == Errc::failed);
  CHECK(code_of(s->range(range_of("a"))) == Errc::failed);
  CHECK(s->snapshot(dir.sub("s")).error().code() == Errc::failed);
  CHECK(s->close().ok());
}

TEST_CASE("store: a second open of the same directory is refused", "[store]") {
  TempDir dir;
  auto s = open_store(dir.str());
  auto second = Store::open(dir.str());
  REQUIRE_FALSE(second.ok());
  CHECK(second.error().code() == Errc::io_error);
}

TEST_CASE("store: range reads values of keys written in the same txn", "[store]") {
  TempDir dir;
  auto s = open_store(dir.str());
  put(*s, "a", "old");
  TxnRequest t;
  RequestOp p1, r1, p2;
  p1.op = PutRequest{"a", "new"};
  r1.op = range_of("a", std::string("c"));
  PutRequest iv{"b", "", 0};
  p2.op = PutRequest{"b", "bee"};
  t.success = {p1, p2, r1};
  auto out = s->txn(t);
  REQUIRE(out.ok());
  CHECK(out->revision == 3);
  auto& rr = std::get<RangeResponse>(out->responses[2].op);
  CHECK(rr.revision == 3);
  REQUIRE(rr.kvs.size() == 2);
  CHECK(rr.kvs[0] == KeyValue{"a", 2, 3, 2, "new", 0});
  CHECK(rr.kvs[1] == KeyValue{"b", 3, 3, 1, "bee", 0});
}

TEST_CASE("store: a compare with an unknown result holds and the txn takes success", "[store]") {
  // SPEC §3.6.3 [QUIRK]: an unknown Compare.result evaluates to true (etcd's compare switch
  // has no default). An unknown target compares as equal, as etcd's compareKV leaves it.
  TempDir dir;
  auto s = open_store(dir.str());
  put(*s, "k", "v");  // revision 2: version 1, create 2, mod 2

  auto txn_with = [](Compare c) {
    TxnRequest t;
    t.compare.push_back(std::move(c));
    RequestOp then_op, else_op;
    then_op.op = PutRequest{"branch", "success"};
    else_op.op = PutRequest{"branch", "failure"};
    t.success = {then_op};
    t.failure = {else_op};
    return t;
  };
  auto branch_value = [&]() {
    auto r = s->range(range_of("branch"));
    REQUIRE(r.ok());
    REQUIRE(r->kvs.size() == 1);
    return r->kvs[0].value;
  };

  // The compared numbers make EQUAL and GREATER false; an unknown result holds regardless.
  for (int32_t result :
       {4, 9, -1, std::numeric_limits<int32_t>::max(), std::numeric_limits<int32_t>::min()}) {
    INFO("result " << result);
    // On an existing key (version 1, compared with 5).
    auto on_key = s->txn(txn_with(Compare{result, static_cast<int32_t>(CompareTarget::version), "k",
                                          std::nullopt, CompareTarget::version, 5, ""}));
    REQUIRE(on_key.ok());
    CHECK(on_key->succeeded);
    CHECK(branch_value() == "success");

    // On a missing key (a zero record), and on a range of keys.
    auto missing = s->txn(txn_with(Compare{result, static_cast<int32_t>(CompareTarget::mod),
                                           "absent", std::nullopt, CompareTarget::mod, 7, ""}));
    REQUIRE(missing.ok());
    CHECK(missing->succeeded);
    auto ranged = s->txn(txn_with(Compare{result, static_cast<int32_t>(CompareTarget::create), "a",
                                          std::string("z"), CompareTarget::create, 1, ""}));
    REQUIRE(ranged.ok());
    CHECK(ranged->succeeded);
  }

  // A VALUE compare on a missing key is false for every result, unknown ones included.
  auto value_missing =
      s->txn(txn_with(Compare{9, static_cast<int32_t>(CompareTarget::value), "absent", std::nullopt,
                              CompareTarget::value, 0, "x"}));
  REQUIRE(value_missing.ok());
  CHECK_FALSE(value_missing->succeeded);
  CHECK(branch_value() == "failure");

  // Conjunction: an unknown result holds, a false compare next to it still fails the txn.
  TxnRequest both = txn_with(Compare{9, static_cast<int32_t>(CompareTarget::version), "k",
                                     std::nullopt, CompareTarget::version, 0, ""});
  both.compare.push_back(Compare{static_cast<int32_t>(CompareResult::equal),
                                 static_cast<int32_t>(CompareTarget::version), "k", std::nullopt,
                                 CompareTarget::version, 42, ""});
  auto mixed = s->txn(both);
  REQUIRE(mixed.ok());
  CHECK_FALSE(mixed->succeeded);

  // An unknown target is evaluated as etcd 3.4 evaluates it (no longer refused): the
  // comparison finds "equal", whatever the key holds.
  for (int32_t target : {9, -1}) {
    CAPTURE(target);
    const auto holds = [&](int32_t result) {
      auto r = s->txn(txn_with(Compare{result, target, "k", std::nullopt, std::nullopt, 0, ""}));
      REQUIRE(r.ok());
      return r->succeeded;
    };
    CHECK(holds(9));
    CHECK(holds(static_cast<int32_t>(CompareResult::equal)));
    CHECK_FALSE(holds(static_cast<int32_t>(CompareResult::not_equal)));
    CHECK_FALSE(holds(static_cast<int32_t>(CompareResult::greater)));
    CHECK_FALSE(holds(static_cast<int32_t>(CompareResult::less)));
  }
}

namespace {

// Bytes RocksDB handed out (Get, MultiGet and iterators, which is how a range reads the
// latest column) on this thread since the last reset: the store is single-threaded, so
// these are its reads of records. RocksDB counts iterator bytes only for a database opened
// with statistics (with_statistics()).
struct ValueReads {
  ValueReads() {
    rocksdb::SetPerfLevel(rocksdb::PerfLevel::kEnableCount);
    reset();
  }
  ~ValueReads() { rocksdb::SetPerfLevel(rocksdb::PerfLevel::kDisable); }
  void reset() { rocksdb::get_perf_context()->Reset(); }
  uint64_t bytes() const {
    const auto* p = rocksdb::get_perf_context();
    return p->get_read_bytes + p->multiget_read_bytes + p->iter_read_bytes;
  }
};

StoreOptions with_statistics() {
  StoreOptions o;
  o.backend.statistics = rocksdb::CreateDBStatistics();
  return o;
}

}  // namespace

TEST_CASE("store: count_only and keys_only answer from the index without reading values",
          "[store][range]") {
  TempDir dir;
  auto s = open_store(dir.str(), with_statistics());
  REQUIRE(s->lease_grant(9, 100).ok());
  // 20,000 keys of 1 KiB, written 100 per txn; every tenth key has a lease; then key k/0
  // and k/1 are rewritten so that they have an older record at revision `before`.
  const std::string value(1024, 'v');
  constexpr int kKeys = 20000;
  for (int i = 0; i < kKeys; i += 100) {
    TxnRequest t;
    for (int j = i; j < i + 100; ++j) {
      RequestOp op;
      op.op = PutRequest{"k/" + std::to_string(j), value, j % 10 == 0 ? 9 : 0};
      t.success.push_back(std::move(op));
    }
    REQUIRE(s->txn(t).ok());
  }
  const int64_t before = s->current_revision();
  put(*s, "k/0", "new", 0);  // k/0 loses its lease in its newest record
  put(*s, "k/1", "new", 9);  // k/1 gains one

  ValueReads reads;
  auto whole = range_of("k/", std::string("k0"));
  SECTION("count_only counts every key and reads no value") {
    auto count = whole;
    count.count_only = true;
    auto r = s->range(count);
    REQUIRE(r.ok());
    CHECK(r->count == kKeys);
    CHECK(r->kvs.empty());
    CHECK(reads.bytes() == 0);
    // With a limit, filters and a sort the count is still every key (etcd), from the index.
    count.limit = 5;
    count.sort_order = 2;
    count.sort_target = 4;
    count.min_mod_revision = before;
    r = s->range(count);
    REQUIRE(r.ok());
    CHECK(r->count == kKeys);
    CHECK(reads.bytes() == 0);
  }
  SECTION("a full range reads the values (the probe sees reads)") {
    auto r = s->range(whole);
    REQUIRE(r.ok());
    CHECK(r->kvs.size() == static_cast<size_t>(kKeys));
    CHECK(reads.bytes() >= static_cast<uint64_t>(kKeys) * value.size());
  }
  SECTION("keys_only at the head reads no value and equals the full range without values") {
    auto full = s->range(whole);
    REQUIRE(full.ok());
    reads.reset();
    auto keys = whole;
    keys.keys_only = true;
    auto r = s->range(keys);
    REQUIRE(r.ok());
    CHECK(reads.bytes() == 0);
    auto expected = full->kvs;
    for (auto& kv : expected)
      kv.value.clear();
    CHECK(r->kvs == expected);
    CHECK(r->count == kKeys);
    CHECK(r->kvs[0].lease == 0);  // k/0's newest record has none
    CHECK(r->kvs[1].lease == 9);  // k/1's has
  }
  SECTION("keys_only at an older revision reads the records the head does not describe") {
    auto old = whole;
    old.revision = before;
    auto full = s->range(old);
    REQUIRE(full.ok());
    reads.reset();
    old.keys_only = true;
    old.limit = 3;  // k/0, k/1, k/10
    auto r = s->range(old);
    REQUIRE(r.ok());
    REQUIRE(r->kvs.size() == 3);
    CHECK(r->more);
    // Only k/0 and k/1 changed since `before`: their old records are read, k/10 is not.
    CHECK(reads.bytes() > 2 * value.size());
    CHECK(reads.bytes() < 3 * value.size());
    for (size_t i = 0; i < 3; ++i) {
      auto want = full->kvs[i];
      want.value.clear();
      CHECK(r->kvs[i] == want);
    }
    CHECK(r->kvs[0].lease == 9);  // as of `before`, k/0 had the lease
    CHECK(r->kvs[1].lease == 0);
  }
  SECTION("keys_only sorted by value still reads the values it sorts by") {
    auto keys = whole;
    keys.keys_only = true;
    keys.sort_target = 4;
    keys.sort_order = 1;
    auto r = s->range(keys);
    REQUIRE(r.ok());
    CHECK(reads.bytes() > 0);
    CHECK(r->kvs.front().key == "k/0");  // "new" sorts before the 'v's
    CHECK(r->kvs.front().value.empty());
  }
}

namespace {

// Key i of the large-store tests: fixed width, so key order is index order.
std::string big_key(int i) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "b/%07d", i);
  return buf;
}

}  // namespace

// Issue 13's bad input, answered as etcd answers it, in reads proportional to the response:
// the probe counts the bytes RocksDB handed out (every value the range read, through the
// latest column's iterator or a MultiGet), not time.
TEST_CASE("store: ranges over a large store read what the page needs, and answer as etcd",
          "[store][range]") {
  TempDir dir;
  auto s = open_store(dir.str(), with_statistics());
  constexpr int kKeys = 60000;
  constexpr uint64_t kValue = 512;
  // What one entry may cost the probe at most: its value, its key, the record's fields.
  constexpr uint64_t kEntry = kValue + 64;  // measured: about kValue + 22
  auto value_of = [](int i) {
    std::string v(kValue, static_cast<char>('a' + i % 26));
    v.replace(0, 8, std::to_string(10000000 + i));  // distinct: a sort by value is exact
    return v;
  };
  for (int i = 0; i < kKeys; i += 100) {  // 100 ops per txn: under the default max_txn_ops
    TxnRequest t;
    for (int j = i; j < i + 100; ++j) {
      RequestOp op;
      op.op = PutRequest{big_key(j), value_of(j), 0};
      t.success.push_back(std::move(op));
    }
    REQUIRE(s->txn(t).ok());
  }
  ValueReads reads;
  const auto whole = range_of("b/", std::string("b0"));

  SECTION("the whole keyspace with no limit: every key once, in order, and nothing else") {
    reads.reset();
    auto r = s->range(whole);
    REQUIRE(r.ok());
    REQUIRE(r->kvs.size() == static_cast<size_t>(kKeys));
    CHECK(r->count == kKeys);
    CHECK_FALSE(r->more);
    for (int i = 0; i < kKeys; i += 997) {
      CHECK(r->kvs[static_cast<size_t>(i)].key == big_key(i));
      CHECK(r->kvs[static_cast<size_t>(i)].value == value_of(i));
    }
    CHECK(std::is_sorted(r->kvs.begin(), r->kvs.end(),
                         [](const auto& a, const auto& b) { return a.key < b.key; }));
    // Each value read once: no second pass, no read of another key.
    CHECK(reads.bytes() >= kKeys * kValue);
    CHECK(reads.bytes() <= kKeys * kEntry);
  }
  SECTION("limit 1 over every key reads two entries (the page and `more`), counts them all") {
    auto first = whole;
    first.limit = 1;
    reads.reset();
    auto r = s->range(first);
    REQUIRE(r.ok());
    REQUIRE(r->kvs.size() == 1);
    CHECK(r->kvs[0].key == big_key(0));
    CHECK(r->kvs[0].value == value_of(0));
    CHECK(r->more);
    CHECK(r->count == kKeys);  // etcd's count is of the whole range, limit or not
    CHECK(reads.bytes() >= kValue);
    CHECK(reads.bytes() <= 2 * kEntry);
  }
  SECTION("a page from the middle (continuation after a key) reads that page only") {
    auto page = whole;
    page.key = big_key(kKeys / 2) + std::string(1, '\0');
    page.limit = 500;
    reads.reset();
    auto r = s->range(page);
    REQUIRE(r.ok());
    REQUIRE(r->kvs.size() == 500);
    CHECK(r->kvs.front().key == big_key(kKeys / 2 + 1));
    CHECK(r->kvs.back().key == big_key(kKeys / 2 + 500));
    CHECK(r->more);
    CHECK(r->count == kKeys / 2 - 1);
    CHECK(reads.bytes() <= 501 * kEntry);
  }
  SECTION("a sort on the whole keyspace with a limit: etcd's answer (sort all, then cut)") {
    auto sorted = whole;
    sorted.sort_order = static_cast<int32_t>(SortOrder::descend);
    sorted.sort_target = static_cast<int32_t>(SortTarget::value);
    sorted.limit = 3;
    auto r = s->range(sorted);
    REQUIRE(r.ok());
    REQUIRE(r->kvs.size() == 3);
    for (int i = 0; i < 3; ++i)
      CHECK(r->kvs[static_cast<size_t>(i)].key == big_key(kKeys - 1 - i));  // largest values
    CHECK(r->more);
    CHECK(r->count == kKeys);
    sorted.sort_order = static_cast<int32_t>(SortOrder::ascend);
    sorted.sort_target = static_cast<int32_t>(SortTarget::key);
    sorted.limit = 0;  // no limit: every key, ascending
    r = s->range(sorted);
    REQUIRE(r.ok());
    CHECK(r->kvs.size() == static_cast<size_t>(kKeys));
    CHECK_FALSE(r->more);
  }
}

TEST_CASE("store: a historical range after heavy compaction is ErrCompacted, as etcd",
          "[store][range]") {
  TempDir dir;
  auto s = open_store(dir.str());
  // 2,000 keys rewritten 10 times: 20,000 revisions; then compact all but the last round.
  constexpr int kKeys = 2000;
  for (int round = 0; round < 10; ++round) {
    for (int i = 0; i < kKeys; i += 100) {
      TxnRequest t;
      for (int j = i; j < i + 100; ++j) {
        RequestOp op;
        op.op = PutRequest{big_key(j), "r" + std::to_string(round), 0};
        t.success.push_back(std::move(op));
      }
      REQUIRE(s->txn(t).ok());
    }
  }
  const int64_t head = s->current_revision();
  // Inside the last round (20 txns of 100 keys, revisions head-19 .. head): keys 0..999
  // have their round-9 value at compact_at, keys 1000..1999 still their round-8 one.
  const int64_t compact_at = head - 10;
  REQUIRE(s->compact(compact_at).ok());
  const auto whole = range_of("b/", std::string("b0"));
  for (int64_t rev : {int64_t{1}, compact_at - 1}) {
    auto old = whole;
    old.revision = rev;
    CHECK(code_of(s->range(old)) == Errc::compacted);
    old.count_only = true;
    CHECK(code_of(s->range(old)) == Errc::compacted);
    old.limit = 1;
    CHECK(code_of(s->range(old)) == Errc::compacted);
  }
  // At the compact revision itself every key is still there, as of that revision.
  auto at = whole;
  at.revision = compact_at;
  auto r = s->range(at);
  REQUIRE(r.ok());
  REQUIRE(r->kvs.size() == static_cast<size_t>(kKeys));
  CHECK(r->kvs.front().value == "r9");
  CHECK(r->kvs[999].value == "r9");
  CHECK(r->kvs[1000].value == "r8");
  CHECK(r->kvs.back().value == "r8");
  // A future revision is refused, as etcd.
  auto future = whole;
  future.revision = head + 1;
  CHECK(code_of(s->range(future)) == Errc::future_revision);
}
