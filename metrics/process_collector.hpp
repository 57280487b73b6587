#pragma once

// The process_* families every Prometheus client library exports (the Go and Python
// clients' names, types and units), read from Linux's /proc/self at scrape time:
//   process_cpu_seconds_total          user + system CPU time
//   process_resident_memory_bytes      resident set size
//   process_virtual_memory_bytes       virtual memory size
//   process_virtual_memory_max_bytes   the address-space limit (RLIMIT_AS; -1 unlimited)
//   process_open_fds                   open file descriptors
//   process_max_fds                    the file descriptor limit (RLIMIT_NOFILE)
//   process_start_time_seconds         start time, seconds since the Unix epoch
// A file that cannot be read leaves its families out of that scrape, as the Go client does.

#include <prometheus/collectable.h>

#include <memory>

namespace revkv::metrics {

std::shared_ptr<prometheus::Collectable> make_process_collector();

}  // namespace revkv::metrics
