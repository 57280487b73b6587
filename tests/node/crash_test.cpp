// kill -9 during a write load: after a restart every acknowledged write is there and
// nothing is half-applied (a multi-shard txn is all or nothing; revisions have no gaps).

#include "client/client.hpp"
#include "tests/node/node_process.hpp"
#include "tests/node/requests.hpp"
#include "tests/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

using namespace revkv;
using testing::put_op;

TEST_CASE("crash: kill -9 under load loses nothing acknowledged", "[node][crash]") {
  testing::TempDir dir;
  std::string data = dir.sub("data");
  std::mutex mu;
  std::condition_variable progress;
  std::map<std::string, int64_t> acked;  // key -> highest acknowledged counter
  int64_t acked_revision = 0;
  {
    testing::NodeProcess node(data, {"--shards", "3"});
    std::atomic<bool> stop{false};
    auto writer = [&](int id) {
      auto c = std::move(client::Client::connect(node.endpoint())).value();
      for (int64_t n = 1; !stop.load(); ++n) {
        std::string key = "w" + std::to_string(id) + "/" + std::to_string(n % 5);
        storage::TxnRequest t;  // two keys, usually on two shards
        t.success = {put_op(key, std::to_string(n)), put_op("mirror/" + key, std::to_string(n))};
        auto r = c.txn(t);
        if (!r.ok()) return;  // the node died under us: this write was never acknowledged
        std::lock_guard lock(mu);
        acked[key] = std::max(acked[key], n);
        acked_revision = std::max(acked_revision, r.value().response.revision);
        progress.notify_all();
      }
    };
    std::vector<std::thread> writers;
    for (int i = 0; i < 4; ++i)
      writers.emplace_back(writer, i);
    // Crash the node in the middle of the load, once a few hundred writes are acknowledged.
    {
      std::unique_lock lock(mu);
      progress.wait_for(lock, std::chrono::seconds(60), [&] { return acked_revision >= 400; });
    }
    node.kill9();
    stop = true;
    for (auto& t : writers)
      t.join();
  }
  REQUIRE(!acked.empty());

  testing::NodeProcess node(data, {"--shards", "5"});  // any shard count reads the same data
  auto c = std::move(client::Client::connect(node.endpoint())).value();
  storage::RangeRequest all;
  all.key = std::string(1, '\0');
  all.range_end = std::string(1, '\0');
  auto r = c.range(all);
  REQUIRE(r.ok());
  CHECK(r.value().response.revision >= acked_revision);
  std::map<std::string, std::string> values;
  for (const auto& kv : r.value().response.kvs)
    values[kv.key] = kv.value;
  for (const auto& [key, n] : acked) {
    CAPTURE(key);
    REQUIRE(values.contains(key));
    CHECK(std::stoll(values[key]) >= n);
    CHECK(values["mirror/" + key] == values[key]);  // the txn is all or nothing
  }
  // Every revision up to the current one holds a change: no gaps after recovery.
  int64_t current = r.value().response.revision;
  for (int64_t rev = 2; rev <= current; rev += std::max<int64_t>(1, current / 200)) {
    storage::RangeRequest at = all;
    at.revision = rev;
    at.min_mod_revision = rev;
    at.max_mod_revision = rev;
    auto got = c.range(at);
    REQUIRE(got.ok());
    CHECK(got.value().response.kvs.size() == 2);  // both keys of that revision's txn
  }
  CHECK(node.stop() == 0);
}
