#pragma once

// A revkvd child process for whole-process tests: started on free loopback ports with a
// temporary data directory, found through its "revkvd ready" line, stopped by PID.

#include <chrono>
#include <cstdint>
#include <string>
#include <sys/types.h>
#include <vector>

namespace revkv::testing {

class NodeProcess {
 public:
  // Starts `revkvd` (REVKVD_PATH) with `--data-dir data_dir` plus `extra` flags; waits up to
  // 30 s for the ready line. Throws std::runtime_error when it does not come. Its stderr
  // (the log) goes to `log_file` when one is named, else nowhere.
  NodeProcess(const std::string& data_dir, std::vector<std::string> extra = {},
              const std::string& log_file = {});
  ~NodeProcess();
  NodeProcess(const NodeProcess&) = delete;
  NodeProcess& operator=(const NodeProcess&) = delete;

  std::string endpoint() const { return "127.0.0.1:" + std::to_string(client_port_); }
  uint16_t client_port() const { return client_port_; }
  uint16_t metrics_port() const { return metrics_port_; }
  // etcd's v3 gRPC API (--listen-grpc).
  uint16_t grpc_port() const { return grpc_port_; }
  std::string grpc_endpoint() const { return "127.0.0.1:" + std::to_string(grpc_port_); }
  pid_t pid() const { return pid_; }

  // SIGTERM and wait; returns the exit status (-1 if it had to be killed).
  int stop(std::chrono::seconds grace = std::chrono::seconds(20));
  // SIGKILL and reap: a crash.
  void kill9();
  // Waits up to `limit` for the process to exit by itself; its exit status (128 + the
  // signal if one ended it), or -1 when it is still running (it is left running).
  int wait_exit(std::chrono::milliseconds limit);

 private:
  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  uint16_t client_port_ = 0;
  uint16_t metrics_port_ = 0;
  uint16_t grpc_port_ = 0;
};

// A field of /proc/PID/status ("VmRSS" in kB, "Threads"); -1 when it is missing.
long proc_status_field(pid_t pid, const std::string& field);
// The resident set of process `pid` in kB (VmRSS); -1 when it cannot be read.
inline long rss_kb(pid_t pid) { return proc_status_field(pid, "VmRSS"); }

// Runs revkvd to completion with `args`; returns {exit status, stderr}.
std::pair<int, std::string> run_revkvd(const std::vector<std::string>& args);
// Same, but returns what it printed on stdout (--help, --version).
std::pair<int, std::string> run_revkvd_stdout(const std::vector<std::string>& args);

}  // namespace revkv::testing
