// The `latest` column (storage/latest.hpp): kept in step with kv by every write, rebuilt
// on open when it is missing (a data dir of the older format), half-built (a crash during a
// rebuild) or laid out for another shard count, and read by ranges only where it holds
// exactly the record the index names.

#include "storage/latest.hpp"

#include "storage/history.hpp"
#include "storage/keyspace.hpp"
#include "storage/keyspace_set.hpp"
#include "storage/record.hpp"
#include "storage/rocksdb_options.hpp"
#include "storage/store.hpp"
#include "tests/temp_dir.hpp"

#include <catch2/catch.hpp>
#include <rocksdb/db.h>
#include <rocksdb/table_properties.h>

#include <deque>
#include <map>
#include <memory>
#include <random>

using namespace revkv::storage;
using revkv::testing::TempDir;

namespace {

std::unique_ptr<Store> open_store(const std::string& dir) {
  StoreOptions o;
  o.backend.sync = false;
  auto s = Store::open(dir, o);
  if (!s.ok()) FAIL(s.error().message());
  return std::move(*s);
}

RangeRequest all_keys(int64_t rev = 0) {
  RangeRequest r;
  r.key = std::string(1, '\0');
  r.range_end = std::string(1, '\0');
  r.revision = rev;
  return r;
}

// A history with overwrites, deletes, a deleted-and-recreated key, a lease revoke, a txn and
// a compaction: every kind of write the latest column must follow.
void write_history(Store& s) {
  REQUIRE(s.lease_grant(7, 100).ok());
  for (int i = 0; i < 40; ++i) {
    PutRequest p{"k/" + std::to_string(i % 17), "v" + std::to_string(i), i % 5 == 0 ? 7 : 0};
    REQUIRE(s.put(p).ok());
  }
  REQUIRE(s.delete_range(DeleteRangeRequest{"k/3", std::nullopt, false}).ok());
  REQUIRE(s.delete_range(DeleteRangeRequest{"k/10", std::string("k/12"), false}).ok());
  REQUIRE(s.put(PutRequest{"k/3", "again", 0}).ok());
  TxnRequest t;
  t.success.push_back(RequestOp{PutRequest{"t/a", "ta", 0}});
  t.success.push_back(RequestOp{DeleteRangeRequest{"k/4", std::nullopt, false}});
  REQUIRE(s.txn(t).ok());
  REQUIRE(s.compact(s.current_revision() - 3).ok());
  REQUIRE(s.lease_revoke(7).ok());
  REQUIRE(s.put(PutRequest{"z", "last", 0}).ok());
}

// The latest column's contents: key (with its part prefix) -> decoded record.
std::map<std::string, KeyValue> latest_contents(const std::string& dir) {
  auto b = Backend::open(dir, {});
  if (!b.ok()) FAIL(b.error().message());
  std::map<std::string, KeyValue> out;
  REQUIRE((*b)->scan(Column::latest, {}, {},
                     [&](std::string_view k, std::string_view v) {
                       auto kv = decode_latest(k.substr(2), v);
                       REQUIRE(kv);
                       out.emplace(std::string(k), *kv);
                       return true;
                     })
              .ok());
  REQUIRE((*b)->close().ok());
  return out;
}

// What the column must hold for `parts` parts: every live key's newest record.
std::map<std::string, KeyValue> expected_latest(const RangeResponse& head, size_t parts) {
  std::map<std::string, KeyValue> out;
  for (const auto& kv : head.kvs)
    out.emplace(latest_key(latest_prefix(shard_of(kv.key, parts)), kv.key), kv);
  return out;
}

// Opens the raw database with every column family the directory has.
struct RawDb {
  explicit RawDb(const std::string& dir) {
    std::vector<std::string> names;
    REQUIRE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions{}, dir, &names).ok());
    std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
    for (const auto& n : names)
      descriptors.emplace_back(n, rocksdb::ColumnFamilyOptions{});
    rocksdb::DB* raw = nullptr;
    REQUIRE(rocksdb::DB::Open(rocksdb::DBOptions{}, dir, descriptors, &handles, &raw).ok());
    db.reset(raw);
    this->names = names;
  }
  ~RawDb() {
    for (auto* h : handles)
      (void)db->DestroyColumnFamilyHandle(h);
    (void)db->Close();
  }
  rocksdb::ColumnFamilyHandle* handle(const std::string& name) {
    for (size_t i = 0; i < names.size(); ++i) {
      if (names[i] == name) return handles[i];
    }
    return nullptr;
  }
  std::unique_ptr<rocksdb::DB> db;
  std::vector<std::string> names;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
};

// Range deletions in the `latest` column's files, once its memtable is flushed. Every scan
// of the column checks each key against the range tombstones it holds: a new store writes
// none, and a rebuild's is compacted away.
uint64_t latest_range_deletions(const std::string& dir) {
  RawDb raw(dir);
  auto* latest = raw.handle("latest");
  REQUIRE(latest != nullptr);
  REQUIRE(raw.db->Flush(rocksdb::FlushOptions{}, latest).ok());
  rocksdb::TablePropertiesCollection tables;
  REQUIRE(raw.db->GetPropertiesOfAllTables(latest, &tables).ok());
  uint64_t n = 0;
  for (const auto& [file, props] : tables)
    n += props->num_range_deletions;
  return n;
}

}  // namespace

TEST_CASE("latest: every write keeps the column equal to the live keys' newest records",
          "[latest]") {
  TempDir dir;
  auto s = open_store(dir.str());
  write_history(*s);
  auto head = s->range(all_keys());
  REQUIRE(head.ok());
  REQUIRE(head->kvs.size() > 10);
  REQUIRE(s->close().ok());
  CHECK(latest_contents(dir.str()) == expected_latest(*head, 1));
}

TEST_CASE("latest: a data dir written without the latest column is rebuilt on open", "[latest]") {
  TempDir dir;
  RangeResponse head, past;
  int64_t past_rev = 0;
  {
    auto s = open_store(dir.str());
    write_history(*s);
    auto h = s->range(all_keys());
    REQUIRE(h.ok());
    head = *h;
    past_rev = s->compact_revision() + 1;
    auto p = s->range(all_keys(past_rev));
    REQUIRE(p.ok());
    past = *p;
    REQUIRE(s->close().ok());
  }
  {
    // The older format: no latest column family and no marker.
    RawDb raw(dir.str());
    REQUIRE(raw.handle("latest") != nullptr);
    REQUIRE(raw.db->Delete(rocksdb::WriteOptions{}, raw.handle("meta"), "revkv_latest_parts").ok());
    REQUIRE(raw.db->DropColumnFamily(raw.handle("latest")).ok());
  }
  {
    RawDb raw(dir.str());
    REQUIRE(raw.handle("latest") == nullptr);
  }
  auto s = open_store(dir.str());
  auto h = s->range(all_keys());
  REQUIRE(h.ok());
  CHECK(*h == head);
  auto p = s->range(all_keys(past_rev));
  REQUIRE(p.ok());
  CHECK(*p == past);
  // And it keeps working for new writes.
  REQUIRE(s->put(PutRequest{"k/1", "after", 0}).ok());
  auto after = s->range(all_keys());
  REQUIRE(after.ok());
  REQUIRE(s->close().ok());
  CHECK(latest_contents(dir.str()) == expected_latest(*after, 1));
}

TEST_CASE("latest: a half-built column (no marker, stale entries) is rebuilt, not trusted",
          "[latest]") {
  TempDir dir;
  RangeResponse head;
  {
    auto s = open_store(dir.str());
    write_history(*s);
    head = *s->range(all_keys());
    REQUIRE(s->close().ok());
  }
  {
    // A crash in the middle of a rebuild: the marker is gone, the column holds a record that
    // agrees with the index in nothing, and misses a live key.
    auto b = Backend::open(dir.str(), {});
    REQUIRE(b.ok());
    WriteBatch batch(**b);
    batch.erase(Column::meta, "revkv_latest_parts");
    KeyValue wrong{"k/1", 1, 1, 1, "stale", 0};
    batch.put(Column::latest, latest_key(latest_prefix(0), "k/1"),
              encode_key_value_without_key(wrong));
    batch.put(Column::latest, latest_key(latest_prefix(0), "k/4"),
              encode_key_value_without_key(wrong));  // deleted key
    batch.erase(Column::latest, latest_key(latest_prefix(0), "z"));
    REQUIRE((*b)->write(batch).ok());
    REQUIRE((*b)->close().ok());
  }
  auto s = open_store(dir.str());
  auto h = s->range(all_keys());
  REQUIRE(h.ok());
  CHECK(*h == head);
  REQUIRE(s->close().ok());
  CHECK(latest_contents(dir.str()) == expected_latest(head, 1));
}

TEST_CASE("latest: reopening with another shard count lays the column out again, no tombstone left",
          "[latest]") {
  TempDir dir;
  RangeResponse head;
  {
    auto s = open_store(dir.str());
    write_history(*s);
    head = *s->range(all_keys());
    REQUIRE(s->close().ok());
  }
  CHECK(latest_range_deletions(dir.str()) == 0);  // a new store holds none
  for (size_t parts : {3u, 1u, 5u}) {
    CAPTURE(parts);
    auto b = Backend::open(dir.str(), {});
    REQUIRE(b.ok());
    std::vector<std::unique_ptr<Keyspace>> owned;
    std::vector<Keyspace*> ptrs;
    for (size_t i = 0; i < parts; ++i) {
      owned.push_back(std::make_unique<Keyspace>(**b, i));
      ptrs.push_back(owned.back().get());
    }
    KeyspaceSet set(ptrs);
    auto recovered = recover_history(**b, set, 2);
    REQUIRE(recovered.ok());
    // Every shard reads its keys, with values, from its part of the column.
    auto fetched = set.range(KeyRange::from_request(std::string(1, '\0'), std::string(1, '\0')),
                             recovered->current, 0);
    REQUIRE(fetched.ok());
    CHECK(fetched->kvs == head.kvs);
    owned.clear();
    REQUIRE((*b)->close().ok());
    CHECK(latest_contents(dir.str()) == expected_latest(head, parts));
    CHECK(latest_range_deletions(dir.str()) == 0);  // the rebuild's erase is compacted away
  }
}

// One keyspace over a fresh backend, recovered empty, as a shard holds it. `keys_at_two`:
// keys k0, k1, ... put at revision 2, written and durable.
struct OneKeyspace {
  explicit OneKeyspace(int keys_at_two = 0) {
    REQUIRE(recover_history(*backend, set, 2).ok());
    if (keys_at_two == 0) return;
    WriteBatch first(*backend);
    for (int i = 0; i < keys_at_two; ++i)
      ks.put("k" + std::to_string(i), "one", 0, Revision{2, i}, first);
    REQUIRE(backend->write(first).ok());
    ks.mark_durable(2);
  }
  ~OneKeyspace() { CHECK(backend->close().ok()); }

  static std::unique_ptr<Backend> open(const std::string& dir) {
    auto b = Backend::open(dir, {});
    if (!b.ok()) FAIL(b.error().message());
    return std::move(*b);
  }

  TempDir dir;
  std::unique_ptr<Backend> backend = open(dir.str());
  Keyspace ks{*backend, 0};
  KeyspaceSet set{std::vector<Keyspace*>{&ks}};
};

TEST_CASE("latest: a range uses the column only for exactly the indexed record", "[latest]") {
  // Writes staged but not yet in RocksDB (the node's group commit in flight) and reads in the
  // past must not take the column's entry; a range at the head after the write must.
  OneKeyspace one(10);
  Keyspace& ks = one.ks;
  Backend* b = one.backend.get();
  auto whole = KeyRange::from_request("a", std::string("z"));
  WriteBatch second(*b);
  for (int i = 0; i < 10; i += 2)
    ks.put("k" + std::to_string(i), "two", 0, Revision{3, i}, second);

  auto values = [&](int64_t rev) {
    auto got = ks.range(whole, rev, 0);
    REQUIRE(got.ok());
    std::string out;
    for (const auto& kv : got->kvs)
      out += kv.value + "@" + std::to_string(kv.mod_revision) + " ";
    return out;
  };
  const std::string at2 = "one@2 one@2 one@2 one@2 one@2 one@2 one@2 one@2 one@2 one@2 ";
  const std::string at3 = "two@3 one@2 two@3 one@2 two@3 one@2 two@3 one@2 two@3 one@2 ";
  // Staged only: the column still has revision 2's records; the overlay answers.
  CHECK(values(3) == at3);
  CHECK(values(2) == at2);
  REQUIRE(b->write(second).ok());
  // Written, still in the overlay: either source gives the same answer.
  CHECK(values(3) == at3);
  ks.mark_durable(3);
  // Durable: the head from the column, the past from kv.
  CHECK(values(3) == at3);
  CHECK(values(2) == at2);
  auto limited = ks.range(whole, 3, 3);
  REQUIRE(limited.ok());
  CHECK(limited->count == 10);
  REQUIRE(limited->kvs.size() == 3);
  CHECK(limited->kvs[2].key == "k2");
  CHECK(limited->kvs[2].value == "two");
}

TEST_CASE("latest: a range never scans the column below what RocksDB already holds", "[latest]") {
  // A follower writes another member's entry to RocksDB before its shards' indexes hold the
  // records. Until they are restored, a range at the older revision must not take the column
  // (it already shows the entry: a key deleted, another overwritten); noting the write first
  // is what keeps it off the column.
  OneKeyspace one(6);
  Keyspace& ks = one.ks;
  Backend* b = one.backend.get();
  auto whole = KeyRange::from_request("a", std::string("z"));

  // Revision 3, as the leader wrote it: k2 deleted, k7 created. (A record above the read's
  // revision is caught on its own; a key missing from the column is not.)
  KeyValue k7{"k7", 3, 3, 1, "new", 0};
  KeyValue k2_tomb;
  k2_tomb.key = "k2";
  WriteBatch entry(*b);
  entry.put(Column::kv, encode_revision_key(Revision{3, 0}, true), encode_key_value(k2_tomb));
  entry.erase(Column::latest, latest_key(ks.latest_prefix(), "k2"));
  entry.put(Column::kv, encode_revision_key(Revision{3, 1}), encode_key_value(k7));
  entry.put(Column::latest, latest_key(ks.latest_prefix(), "k7"), encode_key_value_without_key(k7));

  auto listing = [&](int64_t rev, int64_t limit = 0) {
    auto got = ks.range(whole, rev, limit);
    REQUIRE(got.ok());
    std::string out = std::to_string(got->count) + ":";
    for (const auto& kv : got->kvs)
      out += " " + kv.key + "=" + kv.value + "@" + std::to_string(kv.mod_revision);
    return out;
  };
  const std::string at2 = "6: k0=one@2 k1=one@2 k2=one@2 k3=one@2 k4=one@2 k5=one@2";
  const std::string at3 = "6: k0=one@2 k1=one@2 k3=one@2 k4=one@2 k5=one@2 k7=new@3";
  CHECK(listing(2) == at2);
  ks.note_written_elsewhere(3);
  REQUIRE(b->write(entry).ok());
  // Written, not restored: revision 2 is still what the index knows, and what a read gets.
  CHECK(listing(2) == at2);
  CHECK(listing(2, 3) == "6: k0=one@2 k1=one@2 k2=one@2");
  ks.restore(k2_tomb, Revision{3, 0}, true);
  ks.restore(k7, Revision{3, 1}, false);
  CHECK(listing(3) == at3);
  CHECK(listing(3, 3) == "6: k0=one@2 k1=one@2 k3=one@2");
  CHECK(listing(2) == at2);
}

TEST_CASE("latest: ranges at every revision agree with the history while groups are in flight",
          "[latest]") {
  // Random groups of puts and deletes staged, written and marked durable out of step with each
  // other (as the node's group commit does), and ranges at random revisions, bounds, limits
  // and counting modes, compared with the state recorded at each revision. Reads at the head
  // scan the column with the overlay's records merged in; reads at older revisions must not
  // take the column. Keys hold 0x00 and 0xff bytes, and another part (shard) of the column
  // holds the same keys right after this one's: a scan to the end of the keyspace must stop
  // at its own part.
  OneKeyspace one;
  Keyspace& ks = one.ks;
  Backend* b = one.backend.get();
  Keyspace other(*b, 1);
  auto key_of = [](size_t i) {
    if (i == 38) return std::string("k/\xff");
    if (i == 39) return std::string("k/1\0z", 5);
    return "k/" + std::to_string(100 + i);
  };
  {
    WriteBatch neighbours(*b);
    for (size_t i = 0; i < 40; ++i)
      other.put(key_of(i), "other part", 0, Revision{1, static_cast<int64_t>(i)}, neighbours);
    REQUIRE(b->write(neighbours).ok());
    other.mark_durable(1);
  }
  std::mt19937_64 rng(4321);
  auto pick = [&](size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng); };
  using State = std::map<std::string, std::pair<std::string, int64_t>>;  // value, mod revision
  std::vector<State> states(2);  // states[r]: the keys at revision r (1 is the empty store)
  std::deque<std::unique_ptr<WriteBatch>> staged;  // in revision order
  int64_t head = 1;
  int64_t written = 1;  // every group up to here is in RocksDB
  int64_t durable = 1;
  size_t at_head = 0;
  for (int step = 0; step < 4000; ++step) {
    size_t what = pick(100);
    // At most 24 groups ahead of what is durable: a few dozen records in the overlay, as a
    // shard has with a commit group in flight (past 256 every range walks the index).
    if (what < 30 && head - durable < 24) {
      State next = states.back();
      ++head;
      auto batch = std::make_unique<WriteBatch>(*b);
      int64_t sub = 0;
      for (size_t n = 1 + pick(4); n > 0; --n) {
        std::string key = key_of(pick(40));
        auto live = next.find(key);
        if (live != next.end() && live->second.second == head) continue;  // once per group
        if (live != next.end() && pick(3) == 0) {
          ks.erase(key, Revision{head, sub++}, *batch);
          next.erase(live);
        } else {
          std::string value = "v" + std::to_string(step) + "." + std::to_string(sub);
          ks.put(key, value, 0, Revision{head, sub++}, *batch);
          next[key] = {value, head};
        }
      }
      states.push_back(std::move(next));
      staged.push_back(std::move(batch));
    } else if (what < 50) {
      if (staged.empty()) continue;
      REQUIRE(b->write(*staged.front()).ok());
      staged.pop_front();
      ++written;
    } else if (what < 60) {
      if (durable < written) durable += 1 + static_cast<int64_t>(pick(written - durable));
      ks.mark_durable(durable);
    } else {
      // Half at the head (the overlay's records over the column), half anywhere before.
      int64_t rev = pick(2) == 0 ? head : 1 + static_cast<int64_t>(pick(static_cast<size_t>(head)));
      std::string from = key_of(pick(40));
      std::string to = key_of(pick(40));
      if (to < from) std::swap(from, to);
      if (pick(5) == 0) to = std::string(1, '\0');  // to the end of the keyspace
      int64_t limit = static_cast<int64_t>(pick(6));
      auto counting = pick(4) == 0 ? Counting::fetched_only : Counting::whole_range;
      auto range = KeyRange::from_request(from, to);
      CAPTURE(step, rev, head, written, durable, from, to, limit);
      auto got = ks.range(range, rev, limit, FetchDepth::values, counting);
      REQUIRE(got.ok());
      std::vector<std::string> want;
      const State& at = states[static_cast<size_t>(rev)];
      for (auto it = at.lower_bound(from); it != at.end() && range.contains(it->first); ++it)
        want.push_back(it->first + "=" + it->second.first + "@" +
                       std::to_string(it->second.second));
      auto whole = static_cast<int64_t>(want.size());
      if (limit > 0 && static_cast<int64_t>(want.size()) > limit)
        want.resize(static_cast<size_t>(limit));
      CHECK(got->count ==
            (counting == Counting::whole_range ? whole : static_cast<int64_t>(want.size())));
      std::vector<std::string> have;
      for (const auto& kv : got->kvs)
        have.push_back(kv.key + "=" + kv.value + "@" + std::to_string(kv.mod_revision));
      REQUIRE(have == want);
      if (rev == head) ++at_head;
    }
  }
  // Most ranges at the head were scans (the rest: below a group just marked durable).
  CHECK(at_head > 500);
  CHECK(ks.ranges_scanned() * 2 > at_head);
}

TEST_CASE("latest: random writes, ranges and reopens agree with a plain map", "[latest]") {
  // A quick self-contained check beside the model test: random puts and deletes over 60 keys,
  // then latest-revision ranges with limits compared with what a std::map holds.
  TempDir dir;
  std::mt19937_64 rng(1234);
  auto pick = [&](size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng); };
  std::map<std::string, std::string> want;
  auto s = open_store(dir.str());
  for (int step = 0; step < 1500; ++step) {
    std::string key = "r/" + std::to_string(pick(60));
    size_t what = pick(100);
    if (what < 55) {
      std::string value = "v" + std::to_string(step);
      REQUIRE(s->put(PutRequest{key, value, 0}).ok());
      want[key] = value;
    } else if (what < 70) {
      std::string end = "r/" + std::to_string(pick(60));
      if (end < key) std::swap(key, end);
      REQUIRE(s->delete_range(DeleteRangeRequest{key, end, false}).ok());
      want.erase(want.lower_bound(key), want.lower_bound(end));
    } else if (what < 72) {
      REQUIRE(s->close().ok());
      s = open_store(dir.str());
    } else if (what < 74) {
      if (s->current_revision() > s->compact_revision()) {
        REQUIRE(s->compact(s->current_revision()).ok());
      }
    } else {
      std::string end = "r/" + std::to_string(pick(60));
      if (end < key) std::swap(key, end);
      RangeRequest r;
      r.key = key;
      r.range_end = end;
      r.limit = static_cast<int64_t>(pick(8));
      auto got = s->range(r);
      REQUIRE(got.ok());
      std::vector<std::pair<std::string, std::string>> expect;
      for (auto it = want.lower_bound(key); it != want.end() && it->first < end; ++it)
        expect.emplace_back(*it);
      CHECK(got->count == static_cast<int64_t>(expect.size()));
      if (r.limit > 0 && static_cast<int64_t>(expect.size()) > r.limit) {
        expect.resize(static_cast<size_t>(r.limit));
        CHECK(got->more);
      }
      std::vector<std::pair<std::string, std::string>> have;
      for (const auto& kv : got->kvs)
        have.emplace_back(kv.key, kv.value);
      REQUIRE(have == expect);
    }
  }
  REQUIRE(s->close().ok());
}

TEST_CASE("latest: the column's value is the kv record after its key field", "[latest]") {
  for (size_t key_size : {1u, 127u, 128u, 300u, 20000u}) {
    CAPTURE(key_size);
    KeyValue kv{std::string(key_size, 'k'), 3, 9, 2, "value", 7};
    std::string record = encode_key_value(kv);
    CHECK(record.substr(encoded_key_field_size(kv)) == encode_key_value_without_key(kv));
    auto back = decode_latest(kv.key, encode_key_value_without_key(kv));
    REQUIRE(back);
    CHECK(*back == kv);
  }
}

TEST_CASE("latest: a created key is a new key of the column, an overwrite or a delete is not",
          "[latest]") {
  // The backend flushes a `latest` memtable early only when it is mostly overwritten
  // records (docs/STORAGE.md "Overwritten records"); the keyspace tells it which are new.
  OneKeyspace one(/*keys_at_two=*/1);  // k0 exists
  WriteBatch batch(*one.backend);
  one.ks.put("n", "created", 0, Revision{3, 0}, batch);
  CHECK(batch.latest_new_keys() == 1);
  one.ks.put("k0", "overwritten", 0, Revision{3, 1}, batch);
  CHECK(batch.latest_new_keys() == 1);
  one.ks.put("n", "again", 0, Revision{3, 2}, batch);
  CHECK(batch.latest_new_keys() == 1);
  one.ks.erase("n", Revision{3, 3}, batch);
  CHECK(batch.latest_new_keys() == 0);
  one.ks.put("n", "recreated", 0, Revision{3, 4}, batch);  // version 1 again
  CHECK(batch.latest_new_keys() == 1);
  REQUIRE(one.backend->write(batch).ok());
  one.ks.mark_durable(3);
}
