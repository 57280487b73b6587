// One connection that pipelines: its writes execute without waiting for each other to be
// durable, yet a later write gets a later revision, write answers leave in the order the
// writes were sent, and a read sees every write sent before it on the connection.

#include "client/client.hpp"
#include "protocol/codec.hpp"
#include "protocol/method.hpp"
#include "tests/node/node_process.hpp"
#include "tests/node/requests.hpp"
#include "tests/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

using namespace revkv;

namespace {

struct Sent {
  protocol::Method method{};
  std::string key;                    // a Range's key
  std::optional<std::string> expect;  // a Range: the value the connection last wrote there
};

int64_t write_revision(const protocol::Method method, const msgpack::object& result) {
  switch (method) {
    case protocol::Method::kv_put:
      return protocol::decode_kv_response<storage::PutResponse>(result).value().response.revision;
    case protocol::Method::kv_txn:
      return protocol::decode_kv_response<storage::TxnResponse>(result).value().response.revision;
    case protocol::Method::kv_delete_range:
      return protocol::decode_kv_response<storage::DeleteRangeResponse>(result)
          .value()
          .response.revision;
    default:
      FAIL("not a write");
      return 0;
  }
}

}  // namespace

TEST_CASE("pipeline: one connection's writes keep their order and its reads see them",
          "[node][pipeline]") {
  testing::TempDir dir;
  testing::NodeProcess node(dir.sub("data"), {"--shards", "4"});
  auto c = std::move(client::Client::connect(node.endpoint())).value();

  constexpr int kRequests = 3000;
  constexpr int kWindow = 128;  // requests in flight at once
  constexpr int kKeys = 24;
  std::mt19937 rng(7);
  std::map<std::string, std::string> written;  // what this connection wrote last, per key
  std::map<uint32_t, Sent> sent;
  std::vector<uint32_t> write_order;  // msgids of writes, as sent
  std::vector<uint32_t> write_answers;
  std::vector<std::pair<int64_t, bool>> revisions;  // and whether the write must take one
  int next = 0, outstanding = 0, reads_checked = 0;

  auto key_of = [&](int i) { return "p/" + std::to_string(i % kKeys); };
  while (next < kRequests || outstanding > 0) {
    while (next < kRequests && outstanding < kWindow) {
      int i = next++;
      std::string key = key_of(static_cast<int>(rng()));
      uint32_t roll = rng() % 10;
      Sent s;
      uint32_t msgid = 0;
      if (roll < 6) {  // a Put of one key (one shard)
        std::string value = "v" + std::to_string(i);
        s.method = protocol::Method::kv_put;
        msgid = c.queue(protocol::method_name(s.method),
                        protocol::encode_to_string(storage::PutRequest{key, value}));
        written[key] = value;
      } else if (roll < 7) {  // a Txn over two keys (usually two shards: the coordinator)
        std::string other = key;
        while (other == key)  // a txn may not put one key twice
          other = key_of(static_cast<int>(rng()));
        std::string value = "t" + std::to_string(i);
        storage::TxnRequest t;
        t.success = {testing::put_op(key, value), testing::put_op(other, value)};
        s.method = protocol::Method::kv_txn;
        msgid = c.queue(protocol::method_name(s.method), protocol::encode_to_string(t));
        written[key] = value;
        written[other] = value;
      } else if (roll < 8) {  // a DeleteRange of one key
        s.method = protocol::Method::kv_delete_range;
        msgid = c.queue(protocol::method_name(s.method),
                        protocol::encode_to_string(storage::DeleteRangeRequest{key, {}, false}));
        written.erase(key);
      } else {  // a Range, which must see every write sent before it
        storage::RangeRequest r;
        r.key = key;
        s.method = protocol::Method::kv_range;
        s.key = key;
        if (auto it = written.find(key); it != written.end()) s.expect = it->second;
        msgid = c.queue(protocol::method_name(s.method), protocol::encode_to_string(r));
      }
      if (s.method != protocol::Method::kv_range) write_order.push_back(msgid);
      sent.emplace(msgid, std::move(s));
      ++outstanding;
    }
    REQUIRE(c.flush());
    auto r = c.next_response();
    REQUIRE(r);
    --outstanding;
    REQUIRE_FALSE(r.value().error.has_value());
    const Sent& s = sent.at(r.value().msgid);
    if (s.method == protocol::Method::kv_range) {
      auto got = protocol::decode_kv_response<storage::RangeResponse>(r.value().result);
      REQUIRE(got);
      const auto& kvs = got.value().response.kvs;
      INFO("range of " << s.key << " (msgid " << r.value().msgid << ")");
      if (s.expect) {
        REQUIRE(kvs.size() == 1);
        CHECK(kvs[0].value == *s.expect);
      } else {
        CHECK(kvs.empty());
      }
      ++reads_checked;
    } else {
      write_answers.push_back(r.value().msgid);
      revisions.emplace_back(write_revision(s.method, r.value().result),
                             s.method != protocol::Method::kv_delete_range);
    }
  }
  // Answers in the order sent; every Put and Txn at a revision above every earlier write's
  // (a delete of a missing key takes none: it answers the current revision, never lower).
  CHECK(write_answers == write_order);
  for (size_t i = 1; i < revisions.size(); ++i) {
    INFO("write " << i);
    if (revisions[i].second) {
      REQUIRE(revisions[i].first > revisions[i - 1].first);
    } else {
      REQUIRE(revisions[i].first >= revisions[i - 1].first);
    }
  }
  CHECK(reads_checked > kRequests / 10);
  CHECK(node.stop() == 0);
}
