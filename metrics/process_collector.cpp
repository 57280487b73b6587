#include "metrics/process_collector.hpp"

#include <prometheus/metric_family.h>

#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <sstream>
#include <string>
#include <sys/resource.h>
#include <unistd.h>
#include <vector>

namespace revkv::metrics {
namespace {

prometheus::MetricFamily single(const char* name, const char* help, prometheus::MetricType type,
                                double value) {
  prometheus::MetricFamily f{name, help, type, {}};
  prometheus::ClientMetric m;
  if (type == prometheus::MetricType::Counter) {
    m.counter.value = value;
  } else {
    m.gauge.value = value;
  }
  f.metric.push_back(std::move(m));
  return f;
}

// The fields of /proc/self/stat after the command name (which may hold spaces and
// parentheses, so the split starts after its last ')'): fields[0] is field 3, "state".
std::optional<std::vector<std::string>> stat_fields() {
  std::ifstream in("/proc/self/stat");
  std::string line;
  if (!std::getline(in, line)) return std::nullopt;
  auto close = line.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream rest(line.substr(close + 1));
  std::vector<std::string> fields;
  for (std::string f; rest >> f;)
    fields.push_back(f);
  if (fields.size() < 22) return std::nullopt;
  return fields;
}

// The system's boot time (the "btime" line of /proc/stat), seconds since the epoch.
std::optional<double> boot_time() {
  std::ifstream in("/proc/stat");
  for (std::string key; in >> key;) {
    if (key == "btime") {
      double value = 0;
      if (in >> value) return value;
      return std::nullopt;
    }
    in.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
  }
  return std::nullopt;
}

double limit_value(int resource) {
  rlimit limit{};
  if (::getrlimit(resource, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return -1;
  return static_cast<double>(limit.rlim_cur);
}

class ProcessCollector : public prometheus::Collectable {
 public:
  ProcessCollector()
      : ticks_per_second_(static_cast<double>(::sysconf(_SC_CLK_TCK))),
        page_size_(static_cast<double>(::sysconf(_SC_PAGESIZE))),
        boot_time_(boot_time()) {}

  std::vector<prometheus::MetricFamily> Collect() const override {
    using prometheus::MetricType;
    std::vector<prometheus::MetricFamily> out;
    if (auto f = stat_fields()) {
      // Fields 14 utime, 15 stime, 22 starttime (clock ticks), 23 vsize (bytes), 24 rss
      // (pages); fields[i] is field i + 3.
      const auto& v = *f;
      const double cpu = (std::stod(v[11]) + std::stod(v[12])) / ticks_per_second_;
      out.push_back(single("process_cpu_seconds_total",
                           "Total user and system CPU time spent in seconds.", MetricType::Counter,
                           cpu));
      out.push_back(single("process_virtual_memory_bytes", "Virtual memory size in bytes.",
                           MetricType::Gauge, std::stod(v[20])));
      out.push_back(single("process_resident_memory_bytes", "Resident memory size in bytes.",
                           MetricType::Gauge, std::stod(v[21]) * page_size_));
      if (boot_time_) {
        out.push_back(single(
            "process_start_time_seconds", "Start time of the process since unix epoch in seconds.",
            MetricType::Gauge, *boot_time_ + std::stod(v[19]) / ticks_per_second_));
      }
    }
    out.push_back(single("process_virtual_memory_max_bytes",
                         "Maximum amount of virtual memory available in bytes.", MetricType::Gauge,
                         limit_value(RLIMIT_AS)));
    std::error_code ec;
    double fds = 0;
    for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end;
         it.increment(ec))
      ++fds;
    // The directory iterator's own descriptor is open while it counts; the Go client counts
    // it too (it reads the same directory), so the figure matches theirs.
    if (!ec) {
      out.push_back(
          single("process_open_fds", "Number of open file descriptors.", MetricType::Gauge, fds));
    }
    out.push_back(single("process_max_fds", "Maximum number of open file descriptors.",
                         MetricType::Gauge, limit_value(RLIMIT_NOFILE)));
    return out;
  }

 private:
  double ticks_per_second_;
  double page_size_;
  std::optional<double> boot_time_;
};

}  // namespace

std::shared_ptr<prometheus::Collectable> make_process_collector() {
  return std::make_shared<ProcessCollector>();
}

}  // namespace revkv::metrics
