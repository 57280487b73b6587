// Catch-up from a peer's checkpoint in a 3-member revkvd cluster (docs/CLUSTER.md "Catch-up
// from a peer's checkpoint"): a member the leader's compacted log left behind — stopped
// while the others went on, or wiped — fetches a RocksDB checkpoint from the leader's
// catch-up port, verifies it, restarts itself into it (same PID, same ports) and follows the
// log from there; a damaged transfer is refused by its checksum and fetched again.
//
// The members compact their logs after 64 entries (REVKV_TEST_SNAPSHOT_THRESHOLD) so that a
// few hundred writes are enough; the harness gives every member fixed ports, so the one that
// restarts itself is found where it was.

#include "tests/cluster/revkvd_cluster.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

using namespace revkv;
using testing::Cluster;
using testing::eventually;
using testing::same_hash;

namespace {

// Small snapshot settings for every member the test starts; restored when it ends.
class SmallSnapshots {
 public:
  // `damaged`: how many of the first checkpoints each source sends are damaged.
  explicit SmallSnapshots(int damaged) {
    set("REVKV_TEST_SNAPSHOT_THRESHOLD", "64");
    set("REVKV_TEST_SNAPSHOT_TRAILING", "16");
    set("REVKV_TEST_INSTALL_SNAPSHOT_TIMEOUT_MS", "1000");
    if (damaged > 0) set("REVKV_TEST_DAMAGE_CATCHUP", std::to_string(damaged));
  }
  ~SmallSnapshots() {
    for (const auto& name : names_)
      ::unsetenv(name.c_str());
  }
  // Later starts (the catching-up member) do not damage what they send.
  void stop_damaging() { ::unsetenv("REVKV_TEST_DAMAGE_CATCHUP"); }

 private:
  void set(const std::string& name, const std::string& value) {
    ::setenv(name.c_str(), value.c_str(), 1);
    names_.push_back(name);
  }
  std::vector<std::string> names_;
};

// `count` puts on the leader; the last one's revision.
int64_t write(Cluster& cluster, size_t leader, int count, const std::string& prefix) {
  auto c = cluster.connect(leader);
  int64_t last = 0;
  for (int n = 0; n < count; ++n) {
    storage::PutRequest p;
    p.key = prefix + std::to_string(n % 37);
    // Lengths that vary, as real values do.
    p.value = std::string(static_cast<size_t>(n % 13) + 1, static_cast<char>('a' + n % 26));
    auto put = c.put(p);
    REQUIRE(put.ok());
    last = put.value().response.revision;
  }
  return last;
}

// Member i's serializable read of `key` as of `revision` (nullopt while it cannot answer:
// it restarts itself while it catches up, so each try connects anew).
std::optional<std::vector<storage::KeyValue>> read_at(Cluster& cluster, size_t i,
                                                      const std::string& key, int64_t revision) {
  auto c = client::Client::connect(cluster.member(i).endpoint());
  if (!c.ok()) return std::nullopt;
  storage::RangeRequest r;
  r.key = key;
  r.revision = revision;
  r.serializable = true;
  auto got = c.value().range(r);
  if (!got.ok() || got.value().response.revision < revision) return std::nullopt;
  return got.value().response.kvs;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// The behind member catches up: it serves the leader's newest write at the same revision,
// every store hashes alike, and it follows the log afterwards.
void check_caught_up(Cluster& cluster, size_t leader, size_t member, int64_t last,
                     const std::string& last_key) {
  auto expected = read_at(cluster, leader, last_key, last);
  REQUIRE(expected);
  REQUIRE(expected->size() == 1);
  INFO(cluster.log(member));
  CHECK(eventually([&] { return read_at(cluster, member, last_key, last) == expected; },
                   std::chrono::seconds(60)));
  CHECK(contains(cluster.log(member), "catch-up: installed the checkpoint"));
  CHECK(eventually([&] { return same_hash(cluster); }, std::chrono::seconds(30)));
  // And it follows the log from there.
  int64_t more = write(cluster, leader, 20, "after-");
  CHECK(eventually([&] { return read_at(cluster, member, "after-19", more).has_value(); }));
  CHECK(eventually([&] { return same_hash(cluster); }, std::chrono::seconds(30)));
}

}  // namespace

TEST_CASE("revkvd cluster: a member behind the compacted log catches up from a checkpoint",
          "[cluster][process][catchup]") {
  SmallSnapshots knobs(0);
  Cluster cluster(3);
  auto leader = cluster.find_leader(std::chrono::seconds(20));
  REQUIRE(leader);
  size_t behind = (*leader + 1) % cluster.size();
  write(cluster, *leader, 50, "k");
  REQUIRE(cluster.wait_revision(behind, 1, std::chrono::seconds(20)));
  REQUIRE(cluster.stop(behind, std::chrono::seconds(20)) == 0);

  // Far more than threshold + trailing: the leader's log no longer holds what it missed.
  int64_t last = write(cluster, *leader, 400, "k");
  cluster.start(behind);
  check_caught_up(cluster, *leader, behind, last, "k" + std::to_string(399 % 37));
  // Fetched inside libraft's restore, and restarted into from there: libraft never heard
  // the restore refused (docs/CLUSTER.md "Catch-up from a peer's checkpoint"). (A fetch that
  // failed there, on a busy machine, is fetched again on the fetcher's thread, whose restart
  // the member's log words otherwise.)
  const auto log = cluster.log(behind);
  CHECK((contains(log, " is staged; restarting in place to install it") ||
         contains(log, "catch-up: fetching from")));
}

TEST_CASE("revkvd cluster: a wiped member catches up from a checkpoint",
          "[cluster][process][catchup]") {
  SmallSnapshots knobs(0);
  Cluster cluster(3);
  auto leader = cluster.find_leader(std::chrono::seconds(20));
  REQUIRE(leader);
  size_t wiped = (*leader + 2) % cluster.size();
  int64_t last = write(cluster, *leader, 300, "w");
  REQUIRE(cluster.wait_revision(wiped, last, std::chrono::seconds(20)));
  REQUIRE(cluster.stop(wiped, std::chrono::seconds(20)) == 0);
  std::filesystem::remove_all(cluster.data_dir(wiped));
  last = write(cluster, *leader, 100, "w");
  cluster.start(wiped);
  check_caught_up(cluster, *leader, wiped, last, "w" + std::to_string(99 % 37));
}

TEST_CASE("revkvd cluster: a damaged checkpoint transfer is refused and fetched again",
          "[cluster][process][catchup]") {
  // Every source damages the first checkpoint it sends.
  SmallSnapshots knobs(1);
  Cluster cluster(3);
  knobs.stop_damaging();
  auto leader = cluster.find_leader(std::chrono::seconds(20));
  REQUIRE(leader);
  size_t behind = (*leader + 1) % cluster.size();
  REQUIRE(cluster.stop(behind, std::chrono::seconds(20)) == 0);
  int64_t last = write(cluster, *leader, 400, "d");
  cluster.start(behind);
  check_caught_up(cluster, *leader, behind, last, "d" + std::to_string(399 % 37));
  auto log = cluster.log(behind);
  INFO(log);
  CHECK(contains(log, "checksum mismatch"));
  // The refused transfer was never installed: exactly one checkpoint was.
  auto first = log.find("catch-up: installed the checkpoint");
  CHECK(first != std::string::npos);
  CHECK(log.find("catch-up: installed the checkpoint", first + 1) == std::string::npos);
  // The source is the member that led when the snapshot was sent: usually `leader`, but a
  // busy machine may have moved leadership meanwhile (writes are forwarded).
  bool damaged_by_a_source = false;
  for (size_t i = 0; i < cluster.size(); ++i)
    if (i != behind && contains(cluster.log(i), "damaged on purpose")) damaged_by_a_source = true;
  CHECK(damaged_by_a_source);
}

TEST_CASE("revkvd cluster: a member stopped while fetching catches up when it starts again",
          "[cluster][process][catchup]") {
  // Every source damages every checkpoint it sends, until it is restarted.
  SmallSnapshots knobs(1000);
  Cluster cluster(3);
  knobs.stop_damaging();
  auto leader = cluster.find_leader(std::chrono::seconds(20));
  REQUIRE(leader);
  size_t behind = (*leader + 1) % cluster.size();
  REQUIRE(cluster.stop(behind, std::chrono::seconds(20)) == 0);
  int64_t last = write(cluster, *leader, 400, "s");
  cluster.start(behind);
  // libraft stored the leader's snapshot when it arrived; the fetches fail; kill -9.
  REQUIRE(eventually([&] { return contains(cluster.log(behind), "checksum mismatch"); }));
  cluster.kill9(behind);
  // The source restarts without the damage, on the catch-up port it remembered (which the
  // stored snapshot names).
  REQUIRE(cluster.stop(*leader, std::chrono::seconds(20)) == 0);
  cluster.start(*leader);
  auto now_leading = cluster.find_leader(std::chrono::seconds(20));
  REQUIRE(now_leading);
  // The start restores the stored snapshot, fetches on the spot and restarts into it.
  cluster.start(behind);
  check_caught_up(cluster, *now_leading, behind, last, "s" + std::to_string(399 % 37));
  CHECK(contains(cluster.log(behind), "fetching the checkpoint from"));
  CHECK(contains(cluster.log(behind), "before it starts"));
}
