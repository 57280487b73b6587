// revkv-bench: closed-loop load generator for revkvd over the wire protocol, or for
// revkvd or etcd over etcd's v3 gRPC API (--grpc) (docs/BENCH_TOOL.md).

#include "apps/revkv-bench/bench.hpp"
#include "apps/revkv-bench/grpc_load.hpp"
#include "apps/revkv-bench/grpc_watch_bench.hpp"
#include "apps/revkv-bench/report_json.hpp"
#include "apps/revkv-bench/watch_bench.hpp"

#include <absl/synchronization/mutex.h>
#include <fstream>
#include <iostream>
#include <optional>

int main(int argc, char** argv) {
  using namespace revkv::bench;
  // Debian's Abseil tracks the lock order of every absl::Mutex (gRPC's) for deadlock
  // reports, as in a debug build: several percent of a gRPC client's CPU, not the load.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  auto parsed = parse_options(std::vector<std::string>(argv, argv + argc));
  if (auto* exit = std::get_if<ParseExit>(&parsed)) {
    std::cout << exit->out;
    std::cerr << exit->err;
    return exit->code;
  }
  const Options& options = std::get<Options>(parsed);
  std::optional<PreloadResult> preloaded;
  if (options.preload) {
    preloaded = options.use_grpc() ? preload_grpc(options) : preload(options);
    if (!preloaded->error.empty()) {
      std::cerr << "Error: preload: " << preloaded->error << "\n";
      return 1;
    }
  }
  // The JSON report: the run's, with the preload's own figures when there was one.
  auto finish = [&](revkv::util::json::Json doc, const std::string& text) {
    if (preloaded) doc["preload"] = preload_json(*preloaded);
    const std::string json = revkv::util::json::dump(doc) + "\n";
    std::cout << (options.json ? json : text);
    if (options.output.empty()) return true;
    std::ofstream out(options.output, std::ios::trunc);
    out << json;
    out.close();
    if (!out) std::cerr << "Error: cannot write " << options.output << "\n";
    return static_cast<bool>(out);
  };
  if (options.watch) {
    WatchReport report = options.use_grpc() ? run_grpc_watch(options) : run_watch(options);
    if (!finish(watch_report_json(report, options), format_watch_text(report, options))) return 1;
    return report.failed_streams == static_cast<uint64_t>(options.watch_streams) ? 1 : 0;
  }
  Report report = options.use_grpc() ? run_grpc(options) : run(options);
  if (!finish(report_json(report, options), format_text(report, options))) return 1;
  // Every connection (client) failing means nothing was measured.
  return report.failed_connections == static_cast<uint64_t>(options.load_clients()) ? 1 : 0;
}
