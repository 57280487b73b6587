#include "tests/powerloss/round.hpp"

#include "actors/fatal.hpp"
#include "actors/node.hpp"
#include "tests/temp_dir.hpp"

#include <caf/all.hpp>

#include <filesystem>
#include <random>
#include <stdexcept>

namespace revkv::testing {
namespace {

// A dying node's actors must not end the process; a thrown exception ends only the
// actor that hit the failure (CAF turns it into the actor's exit).
[[noreturn]] void throw_fatal(std::string_view what) {
  throw std::runtime_error("fatal storage failure after the power cut: " + std::string(what));
}

// How long answers may still arrive after the cut: a write whose fsync finished just
// before it is acked a moment later. Without it such writes only count as "in flight",
// which weakens the check but never fails it.
constexpr auto kGraceAfterCut = std::chrono::milliseconds(50);
constexpr auto kLoadDeadline = std::chrono::seconds(60);

}  // namespace

FatalThrows::FatalThrows() {
  actors::set_fatal_handler_for_test(&throw_fatal);
}
FatalThrows::~FatalThrows() {
  actors::set_fatal_handler_for_test(nullptr);
}

std::string RoundReport::describe() const {
  std::string out = "seed " + std::to_string(seed) + ": cut at file operation " +
                    std::to_string(cut_at) + " (" + std::to_string(operations) + " done, " +
                    (node_started ? (cut_during_load ? "during the load" : "after the load")
                                  : "while the node opened") +
                    "); dropped " + std::to_string(dropped.dropped_bytes) + " bytes of " +
                    std::to_string(dropped.truncated_files) + " files, removed " +
                    std::to_string(dropped.removed_entries) + " new entries, undid " +
                    std::to_string(dropped.undone_renames) + " renames and " +
                    std::to_string(dropped.restored_files) + " deletes; reopened at revision " +
                    std::to_string(verdict.revision) + " (compacted at " +
                    std::to_string(verdict.compact_revision) + "), " +
                    std::to_string(verdict.acked_writes) + " acked writes, " +
                    std::to_string(verdict.acked_lost) + " acked lost, " +
                    std::to_string(verdict.in_flight_landed) + " in flight landed, " +
                    std::to_string(verdict.in_flight_lost) + " in flight lost";
  for (const auto& f : verdict.failures)
    out += "\n  FAILED: " + f;
  return out;
}

RoundReport run_power_cut_round(caf::actor_system& sys, const RoundOptions& options) {
  RoundReport report;
  report.seed = options.seed;
  std::mt19937_64 rng(options.seed);
  report.cut_at = 1 + rng() % options.cut_window;

  TempDir tmp;
  const std::string data_dir = tmp.sub("data");
  // The data directory exists (durably) before the node: its own creation is not what
  // this test is about.
  std::filesystem::create_directories(data_dir);
  auto cut_fs = std::make_shared<PowerCutFs>(tmp.sub("trash"));
  cut_fs->cut_at_operation(report.cut_at);

  History history;
  {
    actors::NodeConfig config;
    config.data_dir = data_dir;
    config.listen = false;
    config.options.shards = options.shards;
    config.options.sync = options.sync;
    config.options.sync_interval_ms = options.sync_interval_ms;
    config.backend.sync = false;  // as revkvd: the backend actor syncs the WAL itself
    config.backend.env = PowerCutFs::env_of(cut_fs);
    // Small: memtables flush and SST files come and go within a short round.
    config.backend.write_buffer_bytes = 64 << 10;
    config.backend.block_cache_bytes = 1 << 20;
    config.backend.compression = storage::Compression::none;
    auto started = actors::Node::start(sys, config);
    if (started.ok()) {
      report.node_started = true;
      auto node = std::move(*started);
      LoadOptions load_options = options.load;
      load_options.seed = options.seed;
      {
        Load load(sys, *node, *cut_fs, history, load_options);
        auto power_off = [&] { return cut_fs->power_off(); };
        load.wait_finished(power_off, std::chrono::steady_clock::now() + kLoadDeadline);
        report.cut_during_load = cut_fs->power_off();
        if (report.cut_during_load) {
          load.wait_finished([] { return false; },
                             std::chrono::steady_clock::now() + kGraceAfterCut);
        }
        cut_fs->cut_now();
        load.stop();
        load.join();
        report.compactions = load.maintenance().compactions;
        report.defragments = load.maintenance().defragments;
        report.snapshots = load.maintenance().snapshots;
        report.alarm_changes = load.maintenance().alarm_changes;
      }
      auto stopped = node->stop();  // fails: the power is off
      (void)stopped;
    }
    cut_fs->cut_now();
  }
  report.operations = cut_fs->operations();
  VerifyInput input;
  input.every_ack_durable = options.sync == actors::SyncMode::always;
  input.durable_horizon = cut_fs->wal_durable_horizon();
  report.dropped = cut_fs->apply_cut();
  input.data_dir = data_dir;
  input.scratch_dir = tmp.sub("replay");
  input.shards = options.shards;
  input.history = history.snapshot();
  report.verdict = verify_after_cut(sys, input);
  return report;
}

}  // namespace revkv::testing
