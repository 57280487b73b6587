#include "storage/key_index.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <random>
#include <set>
#include <utility>
#include <vector>

using namespace revkv::storage;

namespace {

// SPEC §1.4 worked example: Put 2, Put 4, Delete 6, Put 8, Put 9.
KeyIndex worked_example() {
  KeyIndex ki;
  ki.put({2, 0});
  ki.put({4, 0});
  ki.tombstone({6, 0});
  ki.put({8, 0});
  ki.put({9, 0});
  return ki;
}

struct Expect {
  int64_t mod, create, version;
};

void check_lookup(const KeyIndex& ki, int64_t at, std::optional<Expect> want) {
  CAPTURE(at);
  auto hit = ki.get(at);
  REQUIRE(hit.has_value() == want.has_value());
  if (!want) return;
  CHECK(hit->modified.main == want->mod);
  CHECK(hit->created.main == want->create);
  CHECK(hit->version == want->version);
}

std::vector<int64_t> mains(const Generation& g) {
  std::vector<int64_t> out;
  for (auto r : g.revs)
    out.push_back(r.main);
  return out;
}

}  // namespace

TEST_CASE("lookup at every revision of the worked example", "[key_index]") {
  auto ki = worked_example();
  check_lookup(ki, 1, std::nullopt);
  check_lookup(ki, 2, Expect{2, 2, 1});
  check_lookup(ki, 3, Expect{2, 2, 1});
  check_lookup(ki, 4, Expect{4, 2, 2});
  check_lookup(ki, 5, Expect{4, 2, 2});
  check_lookup(ki, 6, std::nullopt);
  check_lookup(ki, 7, std::nullopt);
  check_lookup(ki, 8, Expect{8, 8, 1});
  check_lookup(ki, 9, Expect{9, 8, 2});
  check_lookup(ki, 100, Expect{9, 8, 2});
}

TEST_CASE("compaction of the worked example keeps what SPEC §1.4 lists", "[key_index]") {
  SECTION("C=3") {
    auto ki = worked_example();
    std::set<Revision> keep;
    REQUIRE(ki.compact(3, keep));
    CHECK(mains(ki.generations()[0]) == std::vector<int64_t>{2, 4, 6});
    CHECK(keep == std::set<Revision>{{2, 0}});
  }
  SECTION("C=5") {
    auto ki = worked_example();
    std::set<Revision> keep;
    REQUIRE(ki.compact(5, keep));
    CHECK(mains(ki.generations()[0]) == std::vector<int64_t>{4, 6});
    CHECK(ki.generations()[0].version == 3);
    CHECK(ki.generations()[0].created.main == 2);
    check_lookup(ki, 5, Expect{4, 2, 2});
    CHECK(keep == std::set<Revision>{{4, 0}});
  }
  SECTION("C=6: the tombstone at exactly C survives") {
    auto ki = worked_example();
    std::set<Revision> keep;
    REQUIRE(ki.compact(6, keep));
    CHECK(mains(ki.generations()[0]) == std::vector<int64_t>{6});
    CHECK(ki.generations()[0].version == 3);
    CHECK(mains(ki.generations()[1]) == std::vector<int64_t>{8, 9});
    CHECK(keep == std::set<Revision>{{6, 0}});
  }
  SECTION("C=7: the first incarnation is gone") {
    auto ki = worked_example();
    std::set<Revision> keep;
    REQUIRE(ki.compact(7, keep));
    REQUIRE(ki.generations().size() == 1);
    CHECK(mains(ki.generations()[0]) == std::vector<int64_t>{8, 9});
    CHECK(keep.empty());
  }
  SECTION("C=9") {
    auto ki = worked_example();
    std::set<Revision> keep;
    REQUIRE(ki.compact(9, keep));
    CHECK(mains(ki.generations()[0]) == std::vector<int64_t>{9});
    check_lookup(ki, 9, Expect{9, 8, 2});
    CHECK(keep == std::set<Revision>{{9, 0}});
  }
}

TEST_CASE("a key whose last record is an old tombstone disappears", "[key_index]") {
  KeyIndex ki;
  ki.put({2, 0});
  ki.tombstone({3, 0});
  std::set<Revision> keep;
  CHECK(ki.compact(3, keep));  // tombstone at exactly C stays
  CHECK(keep == std::set<Revision>{{3, 0}});
  keep.clear();
  CHECK_FALSE(ki.compact(4, keep));
  CHECK(keep.empty());
}

TEST_CASE("put then delete in one revision (sibling nested txns) keeps both at C", "[key_index]") {
  KeyIndex ki;
  ki.put({2, 0});
  ki.put({5, 0});
  ki.tombstone({5, 1});
  std::set<Revision> keep;
  REQUIRE(ki.compact(5, keep));
  CHECK(keep == std::set<Revision>{{5, 0}, {5, 1}});
  check_lookup(ki, 5, std::nullopt);
}

TEST_CASE("rebuild from a tombstone-first history", "[key_index]") {
  TreeIndex idx;
  idx.restore("k", {6, 0}, true, {}, 0);
  idx.restore("k", {8, 0}, false, {8, 0}, 1);
  CHECK_FALSE(idx.get("k", 6));
  auto hit = idx.get("k", 8);
  REQUIRE(hit);
  CHECK(hit->created.main == 8);
  CHECK(hit->version == 1);
  CHECK(idx.key_count() == 1);
  CHECK(idx.revision_count() == 2);
}

TEST_CASE("tree index visits ranges in key order and counts", "[key_index]") {
  TreeIndex idx;
  idx.put("a", {2, 0});
  idx.put("b", {3, 0});
  idx.put("c", {4, 0});
  idx.tombstone("b", {5, 0});
  auto keys_at = [&](KeyRange r, int64_t rev) {
    std::vector<std::string> out;
    idx.visit(r, rev, [&](const std::string& k, const IndexHit&) {
      out.push_back(k);
      return true;
    });
    return out;
  };
  using V = std::vector<std::string>;
  CHECK(keys_at({"a", std::string("z")}, 4) == V{"a", "b", "c"});
  CHECK(keys_at({"a", std::string("z")}, 5) == V{"a", "c"});
  CHECK(keys_at({"b", std::string{}}, 4) == V{"b", "c"});  // open end
  CHECK(keys_at({"b", std::nullopt}, 4) == V{"b"});
  CHECK(keys_at({"c", std::string("a")}, 5).empty());  // inverted
  CHECK(idx.count({"a", std::string("z")}, 3) == 2);
  CHECK(idx.keep(5) == std::set<Revision>{{2, 0}, {4, 0}});
  auto kept = idx.compact(5);
  CHECK(kept == std::set<Revision>{{2, 0}, {4, 0}, {5, 0}});
  CHECK(idx.revision_count() == 3);
}

TEST_CASE("key index exists agrees with get at every revision", "[key_index]") {
  // Random histories of puts, deletes and re-creations, compacted at random points: exists
  // is what counting uses in place of get, so the two must never disagree.
  std::mt19937 rng(13);
  for (int round = 0; round < 200; ++round) {
    KeyIndex ki;
    int64_t rev = 1;
    int steps = 1 + static_cast<int>(rng() % 12);
    for (int i = 0; i < steps; ++i) {
      rev += 1 + static_cast<int64_t>(rng() % 3);
      if (ki.live() && rng() % 3 == 0) {
        ki.tombstone({rev, 0});
      } else {
        ki.put({rev, 0});
      }
    }
    if (rng() % 2 == 0) {
      std::set<Revision> keep;
      if (!ki.compact(1 + static_cast<int64_t>(rng() % static_cast<uint64_t>(rev)), keep)) {
        continue;
      }
    }
    for (int64_t at = 0; at <= rev + 1; ++at) {
      INFO("round " << round << " at " << at);
      CHECK(ki.exists(at) == ki.get(at).has_value());
    }
  }
}

TEST_CASE("key index existence and liveness follow the history through writes and compactions",
          "[key_index]") {
  // exists() and get() answer reads at or above the newest record from the head kept inline,
  // the rest from the generations: both are checked against the plain history (the newest
  // record at or below a revision decides), with writes after compactions too.
  std::mt19937 rng(29);
  for (int round = 0; round < 300; ++round) {
    KeyIndex ki;
    std::vector<std::pair<int64_t, bool>> history;  // (main revision, tombstone)
    int64_t rev = 1;
    int64_t compacted = 0;  // reads below this are not defined any more
    auto existed_at = [&](int64_t at) {
      bool live = false;
      for (const auto& [main, tombstone] : history)
        if (main <= at) live = !tombstone;
      return live;
    };
    const int phases = 1 + static_cast<int>(rng() % 3);
    for (int phase = 0; phase < phases; ++phase) {
      const int steps = 1 + static_cast<int>(rng() % 8);
      for (int i = 0; i < steps; ++i) {
        rev += 1 + static_cast<int64_t>(rng() % 3);
        const bool tombstone = ki.live() && rng() % 3 == 0;
        if (tombstone) {
          ki.tombstone({rev, 0});
        } else {
          ki.put({rev, 0});
        }
        history.emplace_back(rev, tombstone);
      }
      if (rng() % 2 == 0) {
        compacted =
            std::max(compacted, 1 + static_cast<int64_t>(rng() % static_cast<uint64_t>(rev)));
        std::set<Revision> keep;
        if (!ki.compact(compacted, keep)) {
          // Gone from the index: its newest record was a tombstone below the compaction.
          REQUIRE_FALSE(existed_at(rev));
          ki = KeyIndex{};
          history.clear();
        }
      }
      for (int64_t at = compacted; at <= rev + 2; ++at) {
        INFO("round " << round << " phase " << phase << " at " << at);
        CHECK(ki.exists(at) == existed_at(at));
        CHECK(ki.get(at).has_value() == existed_at(at));
      }
      CHECK(ki.live() == existed_at(rev));
    }
  }
}
