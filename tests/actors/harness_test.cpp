// The node's actors driven in-process through ActorHarness (no TCP): routing to the owner
// shard, Range fan-out and merge, a multi-shard txn through the coordinator, a compaction
// through the maintenance actor, requests as msgpack bytes, and the deadline on replies.

#include "actors/routing.hpp"
#include "protocol/codec.hpp"
#include "storage/keyspace_set.hpp"
#include "tests/actors/actor_harness.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <set>
#include <string>
#include <vector>

using namespace revkv;
using testing::ActorHarness;

namespace {

storage::PutRequest put(std::string key, std::string value) {
  storage::PutRequest p;
  p.key = std::move(key);
  p.value = std::move(value);
  return p;
}

storage::RangeRequest range(std::string key, std::optional<std::string> end = std::nullopt) {
  storage::RangeRequest r;
  r.key = std::move(key);
  r.range_end = std::move(end);
  return r;
}

storage::Compare version_is(std::string key, int64_t version) {
  storage::Compare c;
  c.key = std::move(key);
  c.target = static_cast<int32_t>(storage::CompareTarget::version);
  c.union_kind = storage::CompareTarget::version;
  c.result = static_cast<int32_t>(storage::CompareResult::equal);
  c.number = version;
  return c;
}

std::vector<std::string> keys_of(const storage::RangeResponse& r) {
  std::vector<std::string> out;
  for (const auto& kv : r.kvs)
    out.push_back(kv.key);
  return out;
}

// Two keys owned by different shards.
std::pair<std::string, std::string> keys_on_two_shards(size_t shards) {
  std::string first = "k0";
  for (int i = 1;; ++i) {
    std::string other = "k" + std::to_string(i);
    if (storage::shard_of(other, shards) != storage::shard_of(first, shards)) {
      return {first, other};
    }
  }
}

template <class T>
protocol::KvResponse<T> decode_kv(const std::string& bytes) {
  auto handle = msgpack::unpack(bytes.data(), bytes.size());
  auto decoded = protocol::decode_kv_response<T>(handle.get());
  REQUIRE(decoded.ok());
  return decoded.value();
}

const std::string kNul(1, '\0');

}  // namespace

TEST_CASE_METHOD(ActorHarness, "puts go to the owner shard, gets read them back", "[actors]") {
  const std::vector<std::string> keys = {"alpha", "beta", "gamma", "delta", "epsilon"};
  std::set<size_t> owners;
  for (size_t i = 0; i < keys.size(); ++i) {
    auto where = actors::route(put(keys[i], ""), routes().shards.size());
    CHECK(where.target == actors::Target::owner_shard);
    CHECK(where.shard == storage::shard_of(keys[i], routes().shards.size()));
    owners.insert(where.shard);
    auto r = call<storage::PutResponse>(put(keys[i], "v" + std::to_string(i)));
    REQUIRE(r.ok());
    CHECK(r->revision == static_cast<int64_t>(i) + 2);
  }
  CHECK(owners.size() > 1);  // the keys really are spread over the shards
  for (size_t i = 0; i < keys.size(); ++i) {
    auto got = call<storage::RangeResponse>(range(keys[i]));
    REQUIRE(got.ok());
    CHECK(got->revision == 6);
    REQUIRE(got->kvs.size() == 1);
    CHECK(got->kvs[0].value == "v" + std::to_string(i));
    CHECK(got->kvs[0].mod_revision == static_cast<int64_t>(i) + 2);
  }
  auto missing = call<storage::RangeResponse>(range("nope"));
  REQUIRE(missing.ok());
  CHECK(missing->kvs.empty());
  auto empty_key = call<storage::PutResponse>(put("", "x"));
  REQUIRE_FALSE(empty_key.ok());
  CHECK(empty_key.error().code() == storage::Errc::empty_key);
}

TEST_CASE_METHOD(ActorHarness, "a range over every shard merges their parts in key order",
                 "[actors]") {
  std::vector<std::string> keys;
  for (char c = 'a'; c <= 'j'; ++c)
    keys.emplace_back(1, c);
  for (auto it = keys.rbegin(); it != keys.rend(); ++it)  // written in reverse key order
    REQUIRE(call<storage::PutResponse>(put(*it, "x")).ok());
  auto all = range("a", "z");
  CHECK(actors::route(all, routes().shards.size()).target == actors::Target::all_shards);

  auto got = call<storage::RangeResponse>(all);
  REQUIRE(got.ok());
  CHECK(got->revision == 11);
  CHECK(got->count == 10);
  CHECK_FALSE(got->more);
  CHECK(keys_of(*got) == keys);

  auto limited = all;
  limited.limit = 3;
  got = call<storage::RangeResponse>(limited);
  REQUIRE(got.ok());
  CHECK(got->count == 10);
  CHECK(got->more);
  CHECK(keys_of(*got) == std::vector<std::string>{"a", "b", "c"});

  auto at = range(kNul, kNul);
  at.revision = 4;  // the first three puts: j, i, h
  got = call<storage::RangeResponse>(at);
  REQUIRE(got.ok());
  CHECK(got->revision == 11);
  CHECK(keys_of(*got) == std::vector<std::string>{"h", "i", "j"});

  auto future = all;
  future.revision = 12;
  auto refused = call<storage::RangeResponse>(future);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().code() == storage::Errc::future_revision);
}

TEST_CASE_METHOD(ActorHarness, "a txn over two shards commits atomically via the coordinator",
                 "[actors]") {
  auto [k1, k2] = keys_on_two_shards(routes().shards.size());
  storage::TxnRequest t;
  t.compare.push_back(version_is(k1, 0));
  t.success = {storage::RequestOp{put(k1, "one")}, storage::RequestOp{put(k2, "two")}};
  t.failure = {storage::RequestOp{range(k1)}, storage::RequestOp{range(k2)}};
  CHECK(actors::route(t, routes().shards.size()).target == actors::Target::coordinator);

  auto first = call<storage::TxnResponse>(t);
  REQUIRE(first.ok());
  CHECK(first->succeeded);
  CHECK(first->revision == 2);  // one revision for both keys

  auto both = call<storage::RangeResponse>(range(kNul, kNul));
  REQUIRE(both.ok());
  REQUIRE(both->kvs.size() == 2);
  CHECK(both->kvs[0].mod_revision == 2);
  CHECK(both->kvs[1].mod_revision == 2);
  auto before = range(kNul, kNul);
  before.revision = 1;
  auto none = call<storage::RangeResponse>(before);
  REQUIRE(none.ok());
  CHECK(none->kvs.empty());  // never one key without the other

  // Now the compare fails: the failure branch reads both shards, nothing is written.
  auto second = call<storage::TxnResponse>(t);
  REQUIRE(second.ok());
  CHECK_FALSE(second->succeeded);
  CHECK(second->revision == 2);
  REQUIRE(second->responses.size() == 2);
  for (const auto& op : second->responses) {
    const auto* read = std::get_if<storage::RangeResponse>(&op.op);
    REQUIRE(read != nullptr);
    REQUIRE(read->kvs.size() == 1);
    CHECK(read->kvs[0].mod_revision == 2);
  }

  // A refused txn (duplicate key) changes nothing either.
  storage::TxnRequest dup;
  dup.success = {storage::RequestOp{put(k1, "a")}, storage::RequestOp{put(k1, "b")}};
  auto refused = call<storage::TxnResponse>(dup);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().code() == storage::Errc::duplicate_key);
  auto status = call<protocol::StatusResponse>(protocol::StatusRequest{});
  REQUIRE(status.ok());
  CHECK(status->header.revision == 2);
}

TEST_CASE_METHOD(ActorHarness, "a compaction runs through the maintenance actor", "[actors]") {
  for (const char* v : {"v0", "v1", "v2"})
    REQUIRE(call<storage::PutResponse>(put("foo", v)).ok());
  protocol::CompactionRequest compact{3, /*physical=*/true};
  CHECK(actors::route(compact, routes().shards.size()).target == actors::Target::maintenance);
  auto done = call<storage::CompactResponse>(compact);
  REQUIRE(done.ok());
  CHECK(done->revision == 4);

  auto old = range("foo");
  old.revision = 2;
  auto refused = call<storage::RangeResponse>(old);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().code() == storage::Errc::compacted);
  old.revision = 3;
  auto kept = call<storage::RangeResponse>(old);
  REQUIRE(kept.ok());
  REQUIRE(kept->kvs.size() == 1);
  CHECK(kept->kvs[0].value == "v1");

  auto again = call<storage::CompactResponse>(compact);
  REQUIRE_FALSE(again.ok());
  CHECK(again.error().code() == storage::Errc::compacted);
  auto status = call<protocol::StatusResponse>(protocol::StatusRequest{});
  REQUIRE(status.ok());
  CHECK(status->compact_revision == 3);
  auto hash = call<protocol::HashKVResponse>(protocol::HashKVRequest{0});
  REQUIRE(hash.ok());
  CHECK(hash->compact_revision == 3);
  CHECK(hash->hash_revision == 4);
}

TEST_CASE("a node stopped while a compaction or a multi-shard write asks its shards stops cleanly",
          "[actors]") {
  // Node::stop ends the shards, the coordinator and the maintenance actor together: a
  // compaction waiting for a shard's answer then ends (its schedule is durable: it resumes at
  // the next start), and so does a multi-shard Txn pausing the shards (not done), rather than
  // take the process down as a storage failure. Stopped at once after both are sent, many
  // times, so that some stops land inside their requests to the shards.
  ActorHarness harness;
  int64_t revision = 0;
  for (int round = 0; round < 30; ++round) {
    CAPTURE(round);
    for (int k = 0; k < 20; ++k) {
      auto put = harness.call<storage::PutResponse>(
          storage::PutRequest{"k" + std::to_string(k), "v" + std::to_string(round)});
      REQUIRE(put.ok());
      revision = put->revision;
    }
    caf::anon_send(harness.routes().maintenance, protocol::CompactionRequest{revision, false});
    storage::TxnRequest every_key;
    for (int k = 0; k < 20; ++k)
      every_key.success.push_back({storage::PutRequest{"k" + std::to_string(k), "txn"}});
    caf::anon_send(harness.routes().coordinator, std::move(every_key));
    harness.restart();
  }
  // Every compaction was scheduled before the stop, or not run at all: the store serves on.
  auto status = harness.call<protocol::StatusResponse>(protocol::StatusRequest{});
  REQUIRE(status.ok());
  CHECK(status->compact_revision <= status->header.revision);
  CHECK(harness.call<storage::PutResponse>(storage::PutRequest{"after", "v"}).ok());
}

TEST_CASE_METHOD(ActorHarness, "requests given as msgpack bytes", "[actors][bytes]") {
  auto put_reply = call_bytes("KV.Put", protocol::encode_to_string(put("foo", "bar")));
  REQUIRE(put_reply.ok());
  auto put_kv = decode_kv<storage::PutResponse>(put_reply.value());
  CHECK(put_kv.header.revision == 2);
  CHECK(put_kv.header == node().context()->header(2));

  auto range_reply = call_bytes("KV.Range", protocol::encode_to_string(range(kNul, kNul)));
  REQUIRE(range_reply.ok());
  auto range_kv = decode_kv<storage::RangeResponse>(range_reply.value());
  auto direct = call<storage::RangeResponse>(range(kNul, kNul));
  REQUIRE(direct.ok());
  CHECK(range_kv.response == *direct);  // bytes in, the same answer as the struct call
  REQUIRE(range_kv.response.kvs.size() == 1);
  CHECK(range_kv.response.kvs[0].value == "bar");

  auto status = call_bytes("Maintenance.Status", "");  // no body: params []
  REQUIRE(status.ok());
  auto handle = msgpack::unpack(status.value().data(), status.value().size());
  auto decoded = protocol::decode_body<protocol::StatusResponse>(handle.get());
  REQUIRE(decoded.ok());
  CHECK(decoded.value().shards == 3);

  auto refused = call_bytes("KV.Range", protocol::encode_to_string(range("")));
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error() == protocol::to_wire_error(storage::Errc::empty_key));
}

TEST_CASE_METHOD(ActorHarness, "a malformed body is a bad request", "[actors][bytes]") {
  msgpack::sbuffer buffer;
  protocol::Packer packer(buffer);
  packer.pack_map(1);
  packer.pack(std::string("key"));
  packer.pack(5);  // bytes expected
  auto wrong_type = call_bytes("KV.Put", std::string_view(buffer.data(), buffer.size()));
  REQUIRE_FALSE(wrong_type.ok());
  CHECK(wrong_type.error().code == protocol::kCodeInvalidArgument);
  CHECK(wrong_type.error().message.rfind("revkv: bad request: key", 0) == 0);

  msgpack::sbuffer not_a_map;
  msgpack::pack(not_a_map, std::vector<int>{1, 2});
  auto array = call_bytes("KV.Range", std::string_view(not_a_map.data(), not_a_map.size()));
  REQUIRE_FALSE(array.ok());
  CHECK(array.error().code == protocol::kCodeInvalidArgument);
  CHECK(array.error().message.rfind("revkv: bad request:", 0) == 0);

  auto garbage = call_bytes("KV.Put", std::string("\xc1", 1));  // 0xc1: never used
  REQUIRE_FALSE(garbage.ok());
  CHECK(garbage.error() == protocol::malformed_frame());

  auto unknown = call_bytes("KV.Nope", "");
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.error() == protocol::unknown_method("KV.Nope"));

  // Nothing of it reached a shard.
  auto status = call<protocol::StatusResponse>(protocol::StatusRequest{});
  REQUIRE(status.ok());
  CHECK(status->header.revision == 1);
}

TEST_CASE_METHOD(ActorHarness, "an actor that never answers times out, not hangs",
                 "[actors][timeout]") {
  using clock = std::chrono::steady_clock;
  auto silent = spawn_silent_actor();

  auto started = clock::now();
  auto [reply, error] =
      ask<storage::PutResponse>(silent, std::chrono::milliseconds(200), put("foo", "bar"));
  auto waited = clock::now() - started;
  CHECK_FALSE(reply.has_value());
  CHECK(error == caf::sec::request_timeout);
  CHECK(waited >= std::chrono::milliseconds(200));  // never before its timeout
  // "Not hangs" is that ask() returned at all: CTest's timeout catches a hang, without
  // an upper bound on time that a loaded machine could break.

  // call() through a route that leads to it: CallTimeout, which would fail a test.
  routes().maintenance = silent;
  set_timeout(std::chrono::milliseconds(300));
  started = clock::now();
  CHECK_THROWS_AS(call<storage::CompactResponse>(protocol::CompactionRequest{0, false}),
                  testing::CallTimeout);
  CHECK(clock::now() - started >= std::chrono::milliseconds(300));
  routes().shards[0] = silent;
  CHECK_THROWS_WITH(call<storage::RangeResponse>(range("a", "z")),
                    Catch::Contains("no reply within 300 ms"));

  // The real actors still answer.
  routes() = node().routes();
  CHECK(call<storage::PutResponse>(put("foo", "bar")).ok());
}
