// A multi-shard page fetched by shares (actors/page_shares.hpp): how much each shard is asked
// for, and when the shares hold the page's first keys and when they may not.

#include "actors/page_shares.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using revkv::actors::shard_share;
using revkv::actors::short_shares;
using revkv::storage::RangeFetch;

namespace {

RangeFetch part_of(std::vector<std::string> keys) {
  RangeFetch part;
  for (auto& key : keys) {
    revkv::storage::KeyValue kv;
    kv.key = std::move(key);
    part.kvs.push_back(std::move(kv));
  }
  part.count = static_cast<int64_t>(part.kvs.size());
  return part;
}

}  // namespace

TEST_CASE("page shares: each shard is asked for its share and a margin, never more than the page",
          "[actors][range]") {
  CHECK(shard_share(501, 1) == 501);
  // 250.5 + 4 x 11.19 = 295.3, rounded up, + 8.
  CHECK(shard_share(501, 2) == 304);
  // 71.6 + 4 x 7.84 = 102.9, rounded up, + 8.
  CHECK(shard_share(501, 7) == 111);
  CHECK(shard_share(2, 2) == 2);
  CHECK(shard_share(11, 4) == 11);
  for (int64_t fetch : {1, 2, 10, 101, 129, 501, 5001}) {
    for (size_t shards : {2u, 3u, 4u, 7u, 16u}) {
      CAPTURE(fetch, shards);
      const int64_t share = shard_share(fetch, shards);
      CHECK(share <= fetch);
      CHECK(share * static_cast<int64_t>(shards) >= fetch);
    }
  }
}

TEST_CASE("page shares: a shard is short when it may hold a key of the page it did not return",
          "[actors][range]") {
  using Short = std::vector<size_t>;
  SECTION("shards that returned less than their share returned all they have") {
    CHECK(short_shares({part_of({"a", "c"}), part_of({"b"})}, 3, 4) == Short{});
    CHECK(short_shares({part_of({}), part_of({})}, 3, 4) == Short{});
  }
  SECTION("a full shard reached past the page's last key") {
    // Page of 4: a b c d. Shard 0 is full at "e", after "d".
    CHECK(short_shares({part_of({"a", "c", "e"}), part_of({"b", "d"})}, 3, 4) == Short{});
    // Both full: shard 1 ends at "d", the page's 4th key; shard 0 at "e".
    CHECK(short_shares({part_of({"a", "c", "e"}), part_of({"b", "d", "f"})}, 3, 4) == Short{});
  }
  SECTION("a full shard stopped before the page's last key") {
    // A page of 5 needs every key up to its 5th; shard 0 is full at "c", and only four of the
    // returned keys (a b b1 c) are at or before it: shard 0 may hold "c1", which the page needs.
    CHECK(short_shares({part_of({"a", "b", "c"}), part_of({"b1", "d", "e"})}, 3, 5) == Short{0});
    // Every key on one shard (keys that hash alike): its share cannot hold the page.
    CHECK(short_shares({part_of({}), part_of({"a", "b", "c"})}, 3, 4) == Short{1});
    // Two shards full before the page's end: both are short.
    CHECK(short_shares({part_of({"a", "c"}), part_of({"b", "d"}), part_of({"e"})}, 2, 5) ==
          Short{0, 1});
  }
  SECTION("the page's last key is exactly a full shard's last key") {
    CHECK(short_shares({part_of({"a", "c", "d"}), part_of({"b"})}, 3, 4) == Short{});
  }
}
