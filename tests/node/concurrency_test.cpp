// Many clients against one node: the history must be linearizable in the ways a user can
// check cheaply — acknowledged writes are visible to every later read, revisions are
// unique and increasing, versions of a key are consecutive, and multi-shard txns are
// atomic (no read ever sees half of one).

#include "client/client.hpp"
#include "tests/node/node_process.hpp"
#include "tests/node/requests.hpp"
#include "tests/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <random>
#include <thread>

using namespace revkv;
using testing::put_op;
using Clock = std::chrono::steady_clock;

namespace {

struct AckedWrite {
  std::string key;
  int64_t revision = 0;
  Clock::time_point acked;
};

}  // namespace

TEST_CASE("concurrency: 8 clients, mixed load, linearizable history", "[node][concurrency]") {
  testing::TempDir dir;
  testing::NodeProcess node(dir.sub("data"), {"--shards", "4"});
  constexpr int kClients = 8;
  constexpr int kOpsPerClient = 1300;
  constexpr int kKeys = 16;

  std::mutex mu;
  std::vector<AckedWrite> writes;
  std::atomic<int> failures{0};
  std::vector<std::string> problems;
  auto problem = [&](std::string what) {
    std::lock_guard lock(mu);
    if (problems.size() < 20) problems.push_back(std::move(what));
    ++failures;
  };

  auto worker = [&](int id) {
    auto connected = client::Client::connect(node.endpoint());
    if (!connected.ok()) return problem("connect: " + connected.error().message);
    auto c = std::move(connected).value();
    std::mt19937_64 rng(static_cast<uint64_t>(id) * 7919);
    for (int i = 0; i < kOpsPerClient; ++i) {
      int k = static_cast<int>(rng() % kKeys);
      std::string key = "k" + std::to_string(k);
      int kind = static_cast<int>(rng() % 10);
      if (kind < 4) {
        auto r =
            c.put(storage::PutRequest{key, "c" + std::to_string(id) + "-" + std::to_string(i)});
        if (!r.ok()) return problem("put: " + r.error().message);
        std::lock_guard lock(mu);
        writes.push_back({key, r.value().response.revision, Clock::now()});
      } else if (kind < 5) {
        // A pair of keys in one txn, normally on two shards: always written together.
        std::string pair = std::to_string(rng() % 4);
        std::string value = std::to_string(id) + "/" + std::to_string(i);
        storage::TxnRequest t;
        t.success = {put_op("pair/x" + pair, value), put_op("pair/y" + pair, value)};
        auto r = c.txn(t);
        if (!r.ok()) return problem("txn: " + r.error().message);
      } else if (kind < 6) {
        // Atomicity: at any revision both halves of every pair agree.
        storage::RangeRequest all;
        all.key = "pair/";
        all.range_end = "pair0";
        auto r = c.range(all);
        if (!r.ok()) return problem("range: " + r.error().message);
        std::map<std::string, std::string> x, y;
        for (const auto& kv : r.value().response.kvs) {
          (kv.key[5] == 'x' ? x : y)[kv.key.substr(6)] = kv.value;
        }
        if (x != y) problem("a reader saw half of a multi-shard txn");
      } else {
        // Visibility: a read starting now sees at least every write acknowledged before.
        int64_t floor = 0;
        {
          std::lock_guard lock(mu);
          auto start = Clock::now();
          for (const auto& w : writes) {
            if (w.key == key && w.acked < start) floor = std::max(floor, w.revision);
          }
        }
        storage::RangeRequest g;
        g.key = key;
        auto r = c.range(g);
        if (!r.ok()) return problem("get: " + r.error().message);
        const auto& kvs = r.value().response.kvs;
        if (floor > 0 && (kvs.empty() || kvs[0].mod_revision < floor)) {
          problem("read of " + key + " missed an acknowledged write at " + std::to_string(floor));
        }
        if (r.value().response.revision < floor) problem("read header revision went backwards");
      }
    }
  };
  std::vector<std::thread> threads;
  for (int i = 0; i < kClients; ++i)
    threads.emplace_back(worker, i);
  for (auto& t : threads)
    t.join();
  INFO((problems.empty() ? std::string() : problems.front()));
  REQUIRE(failures.load() == 0);

  // Revisions of acknowledged writes are unique.
  std::map<int64_t, int> seen;
  for (const auto& w : writes)
    CHECK(++seen[w.revision] == 1);

  // Versions of each key are consecutive in revision order (no deletes in this load).
  auto c = std::move(client::Client::connect(node.endpoint())).value();
  for (int k = 0; k < kKeys; ++k) {
    std::string key = "k" + std::to_string(k);
    std::vector<int64_t> revs;
    for (const auto& w : writes) {
      if (w.key == key) revs.push_back(w.revision);
    }
    std::sort(revs.begin(), revs.end());
    int64_t expected = 1;
    for (int64_t rev : revs) {
      storage::RangeRequest at;
      at.key = key;
      at.revision = rev;
      auto r = c.range(at);
      REQUIRE(r.ok());
      REQUIRE(r.value().response.kvs.size() == 1);
      CHECK(r.value().response.kvs[0].version == expected++);
      CHECK(r.value().response.kvs[0].mod_revision == rev);
    }
  }
  CHECK(node.stop() == 0);
}
