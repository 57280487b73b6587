// actors::WatchStream (a stream's ids and create checks) and fragment_response, alone.

#include "actors/watch_stream.hpp"

#include "protocol/codec.hpp"

#include <catch2/catch.hpp>

using revkv::actors::fragment_response;
using revkv::actors::WatchStream;
using revkv::protocol::WatchCreateRequest;
using revkv::protocol::WatchResponse;

namespace {

WatchCreateRequest on(std::string key, int64_t id = 0) {
  WatchCreateRequest r;
  r.key = std::move(key);
  r.watch_id = id;
  return r;
}

int64_t accepted_id(WatchStream& s, const WatchCreateRequest& r) {
  auto out = s.create(r);
  REQUIRE(std::holds_alternative<WatchStream::Accepted>(out));
  return std::get<WatchStream::Accepted>(out).watch_id;
}

std::string rejection(WatchStream& s, const WatchCreateRequest& r) {
  auto out = s.create(r);
  REQUIRE(std::holds_alternative<WatchResponse>(out));
  const auto& w = std::get<WatchResponse>(out);
  CHECK(w.created);
  CHECK(w.canceled);
  CHECK(w.watch_id == -1);
  return w.cancel_reason;
}

}  // namespace

TEST_CASE("watch stream: automatic ids move forward and skip ids in use", "[watch]") {
  WatchStream s;
  CHECK(accepted_id(s, on("a", 1)) == 1);
  CHECK(accepted_id(s, on("a")) == 0);
  CHECK(accepted_id(s, on("a")) == 2);  // 1 is taken
  REQUIRE(s.cancel(0));
  CHECK(accepted_id(s, on("a")) == 3);  // the counter never goes back
  CHECK(accepted_id(s, on("a")) == 4);
  CHECK(rejection(s, on("a", 3)) == "mvcc: duplicate watch ID provided on the WatchStream");
  CHECK(accepted_id(s, on("a", 1000000)) == 1000000);
}

TEST_CASE("watch stream: bad creates are refused before any watcher exists", "[watch]") {
  WatchStream s;
  auto negative = on("a");
  negative.start_revision = -5;
  CHECK(rejection(s, negative) == "etcdserver: mvcc: required revision has been compacted");
  auto empty = on("b");
  empty.range_end = "a";
  CHECK(rejection(s, empty) == "mvcc: watcher range is empty");
  empty.range_end = "b";
  CHECK(rejection(s, empty) == "mvcc: watcher range is empty");
  CHECK(s.empty());
  // An empty key is "\0"; with range end "\0" that is every key.
  auto all = on("");
  all.range_end = std::string(1, '\0');
  auto out = s.create(all);
  REQUIRE(std::holds_alternative<WatchStream::Accepted>(out));
  const auto& spec = std::get<WatchStream::Accepted>(out).spec;
  CHECK(spec.range.contains(std::string(1, '\0')));
  CHECK(spec.range.contains("zzz"));
}

TEST_CASE("watch stream: cancel, and ids held by a compaction cancel", "[watch]") {
  WatchStream s;
  auto out = s.create(on("a"));
  auto tag = std::get<WatchStream::Accepted>(out).tag;
  CHECK(s.id_of(tag) == 0);
  CHECK_FALSE(s.cancel(42));  // unknown: etcd answers nothing
  s.compacted(tag);
  CHECK_FALSE(s.id_of(tag));  // later messages for it are dropped
  // The id stays reserved until the client cancels it (SPEC §7.4): automatic ids skip it.
  CHECK(accepted_id(s, on("a")) == 1);
  CHECK(s.cancel(0) == uint64_t{0});  // cancelled, no hub watcher left
  CHECK_FALSE(s.cancel(0));
}

TEST_CASE("fragment_response: splits large responses, keeps small ones whole", "[watch]") {
  WatchResponse r;
  r.watch_id = 3;
  for (int i = 0; i < 10; ++i) {
    revkv::storage::Event ev;
    ev.kv.key = "k" + std::to_string(i);
    ev.kv.value = std::string(1000, 'x');
    ev.kv.mod_revision = 2 + i;
    r.events.push_back(ev);
  }
  auto whole = fragment_response(r, 1 << 20);
  REQUIRE(whole.size() == 1);
  CHECK(whole[0] == r);

  const size_t limit = 3500;
  auto parts = fragment_response(r, limit);
  REQUIRE(parts.size() > 1);
  std::vector<revkv::storage::Event> joined;
  for (size_t i = 0; i < parts.size(); ++i) {
    CHECK(parts[i].fragment == (i + 1 < parts.size()));
    CHECK(parts[i].watch_id == 3);
    REQUIRE_FALSE(parts[i].events.empty());
    if (parts[i].events.size() > 1) {
      CHECK(revkv::protocol::encode_to_string(parts[i]).size() < limit);
    }
    joined.insert(joined.end(), parts[i].events.begin(), parts[i].events.end());
  }
  CHECK(joined == r.events);

  // One event larger than the limit goes alone, unsplit.
  WatchResponse big;
  big.events.resize(1);
  big.events[0].kv.value = std::string(10000, 'y');
  CHECK(fragment_response(big, limit).size() == 1);
}
