// Power-loss testing: the node in this process over a file system that forgets what was
// not fsynced, cut at random file operations under concurrent load, reopened and checked
// (tests/powerloss/round.hpp, verify.hpp; docs/DURABILITY.md).
//
// REVKV_POWERLOSS_CUTS=N   rounds per test case (default: 100 with --sync always, 30 with
//                          --sync interval); the long mode is N=10000
// REVKV_POWERLOSS_SEED=S   the first round's seed (default: drawn and printed); round i
//                          uses S+i, so a failing round replays with its own seed and N=1

#include "tests/powerloss/round.hpp"

#include <caf/all.hpp>
#include <caf/io/middleman.hpp>
#include <catch2/catch.hpp>

#include <cstdlib>
#include <iostream>
#include <random>
#include <string>

namespace revkv::testing {
namespace {

uint64_t env_number(const char* name, uint64_t fallback) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return fallback;
  return std::stoull(value);
}

struct PowerLossFixture {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  FatalThrows fatal_throws;

  PowerLossFixture() {
    cfg.load<caf::io::middleman>();
    cfg.set("scheduler.max-threads", 2);
    cfg.set("logger.console", caf::atom("none"));
    sys = std::make_unique<caf::actor_system>(cfg);
  }
};

struct Totals {
  size_t rounds = 0, during_load = 0, acked = 0, acked_lost = 0, landed = 0, lost = 0;
  uint64_t operations = 0, dropped_bytes = 0, undone = 0;
  size_t compactions = 0, defragments = 0, snapshots = 0, alarm_changes = 0;
};

// Runs `cuts` rounds from `first_seed`; every failing round is reported with its seed.
Totals run_rounds(caf::actor_system& sys, RoundOptions options, uint64_t first_seed, uint64_t cuts,
                  const std::string& what) {
  std::cout << what << ": " << cuts << " power cuts from seed " << first_seed
            << " (replay one: REVKV_POWERLOSS_SEED=<seed> REVKV_POWERLOSS_CUTS=1)" << std::endl;
  Totals t;
  size_t failed = 0;
  for (uint64_t i = 0; i < cuts; ++i) {
    options.seed = first_seed + i;
    auto report = run_power_cut_round(sys, options);
    ++t.rounds;
    t.during_load += report.cut_during_load ? 1 : 0;
    t.acked += report.verdict.acked_writes;
    t.acked_lost += report.verdict.acked_lost;
    t.landed += report.verdict.in_flight_landed;
    t.lost += report.verdict.in_flight_lost;
    t.operations += report.operations;
    t.compactions += report.compactions;
    t.defragments += report.defragments;
    t.snapshots += report.snapshots;
    t.alarm_changes += report.alarm_changes;
    t.dropped_bytes += report.dropped.dropped_bytes;
    t.undone += report.dropped.undone_renames + report.dropped.restored_files +
                report.dropped.removed_entries;
    if (!report.verdict.failures.empty()) {
      ++failed;
      FAIL_CHECK(report.describe());
    }
    if ((i + 1) % 500 == 0) {
      std::cout << "  " << (i + 1) << " cuts done, " << failed << " failed, " << t.acked
                << " acked writes, " << t.acked_lost << " acked lost" << std::endl;
    }
  }
  std::cout << what << ": " << t.rounds << " cuts (" << t.during_load << " during the load), "
            << t.acked << " acked writes, " << t.acked_lost << " acked lost, " << t.landed
            << " in-flight landed, " << t.lost << " in-flight lost; " << t.operations
            << " file operations, " << t.dropped_bytes << " unsynced bytes dropped, " << t.undone
            << " directory changes undone; answered: " << t.compactions << " compactions, "
            << t.defragments << " defragments, " << t.snapshots << " snapshots, " << t.alarm_changes
            << " alarm changes" << std::endl;
  return t;
}

uint64_t first_seed() {
  static const uint64_t seed = env_number("REVKV_POWERLOSS_SEED", std::random_device{}());
  return seed;
}

TEST_CASE_METHOD(PowerLossFixture, "power loss: --sync always keeps every acknowledged write",
                 "[powerloss]") {
  RoundOptions options;
  options.sync = actors::SyncMode::always;
  auto totals = run_rounds(*sys, options, first_seed(), env_number("REVKV_POWERLOSS_CUTS", 100),
                           "sync always");
  CHECK(totals.acked_lost == 0);
  // Some cuts must land while requests are being served, or the test tests little. How
  // many do depends on the scheduling of the load's threads (about half, on a quiet
  // machine; fewer on a loaded one), so only their presence is required.
  CHECK(totals.during_load > 0);
}

TEST_CASE_METHOD(PowerLossFixture,
                 "power loss: --sync interval loses only writes no WAL sync covered",
                 "[powerloss]") {
  RoundOptions options;
  options.sync = actors::SyncMode::interval;
  options.sync_interval_ms = 5;
  auto totals = run_rounds(*sys, options, first_seed() + 1000000,
                           env_number("REVKV_POWERLOSS_CUTS", 30), "sync interval:5");
  CHECK(totals.during_load > 0);
}

}  // namespace
}  // namespace revkv::testing
