#pragma once

#include <string_view>

namespace revkv::actors {

// A write that RocksDB refused leaves the node unable to keep its promises (SPEC: a
// failed write is fatal). Logs the reason and ends the process with a non-zero status;
// restart recovers everything that was acknowledged.
[[noreturn]] void fatal(std::string_view what);

}  // namespace revkv::actors
