// Keyspace::keys_with_lease_at (LeaseTimeToLive's keys, issue 12 item 2.5): the keys a read
// at a revision sees attached to a lease, whatever newer records not yet durable say.

#include "storage/backend.hpp"
#include "storage/keyspace.hpp"
#include "tests/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <vector>

using namespace revkv::storage;
using revkv::testing::TempDir;

namespace {

struct LeaseKeyspace {
  LeaseKeyspace() {
    auto b = Backend::open(dir.str(), BackendOptions{});
    REQUIRE(b.ok());
    backend = std::move(*b);
    keyspace = std::make_unique<Keyspace>(*backend);
  }
  // Applies a put at `rev`; durable (written to RocksDB) only when asked.
  void put(const std::string& key, int64_t lease, int64_t rev, bool durable) {
    WriteBatch batch(*backend);
    keyspace->put(key, "v", lease, Revision{rev, 0}, batch);
    if (durable) {
      REQUIRE(backend->write(batch, false).ok());
    } else {
      pending.push_back(std::move(batch));
    }
  }
  void erase(const std::string& key, int64_t rev) {
    WriteBatch batch(*backend);
    keyspace->erase(key, Revision{rev, 0}, batch);
    pending.push_back(std::move(batch));
  }
  // The held commits land.
  void write_pending() {
    for (const auto& batch : pending)
      REQUIRE(backend->write(batch, false).ok());
    pending.clear();
  }
  std::vector<std::string> at(int64_t lease, int64_t rev) {
    keyspace->mark_durable(rev);
    auto keys = keyspace->keys_with_lease_at(lease, rev);
    REQUIRE(keys.ok());
    return *keys;
  }

  TempDir dir;
  std::unique_ptr<Backend> backend;
  std::unique_ptr<Keyspace> keyspace;
  std::vector<WriteBatch> pending;  // applied, not yet written
};

}  // namespace

TEST_CASE("keyspace: lease keys as of a revision", "[keyspace][lease]") {
  LeaseKeyspace ks;
  ks.put("a", 7, 2, true);
  ks.put("moved", 7, 3, true);
  ks.put("deleted", 7, 4, true);
  // Above revision 4, not durable: a new key, a key moved to lease 8, a key deleted.
  ks.put("late", 7, 5, false);
  ks.put("moved", 8, 6, false);
  ks.erase("deleted", 7);

  // Now, a read at 4 still sees "moved" and "deleted" with lease 7, and not "late".
  CHECK(ks.at(7, 4) == std::vector<std::string>{"a", "deleted", "moved"});
  CHECK(ks.at(8, 4).empty());
  CHECK(ks.keyspace->keys_with_lease(7) == std::vector<std::string>{"a", "late"});
  // Once durable, at 7 every change counts.
  ks.write_pending();
  CHECK(ks.at(7, 7) == std::vector<std::string>{"a", "late"});
  CHECK(ks.at(8, 7) == std::vector<std::string>{"moved"});
}
