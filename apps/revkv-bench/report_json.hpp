#pragma once

// revkv-bench's JSON report (--json on stdout, --output FILE), built as a document and
// written by the project's one JSON layer (util/json.hpp).

#include "apps/revkv-bench/bench.hpp"
#include "apps/revkv-bench/watch_bench.hpp"
#include "util/json.hpp"

#include <optional>

namespace revkv::bench {

util::json::Json report_json(const Report& report, const Options& options);
util::json::Json watch_report_json(const WatchReport& report, const Options& options);
// {"keys":N,"seconds":S,"puts_per_sec":R}: the preload's own figures.
util::json::Json preload_json(const PreloadResult& preload);

}  // namespace revkv::bench
