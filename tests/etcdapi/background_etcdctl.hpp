#pragma once

// An etcdctl that keeps running (watch, lock, elect): started in its own process group with
// its output (stdout and stderr) on a pipe the test reads with a deadline, and its input on
// a pipe the test may write to; stopped by PID (SIGINT first, as a user's Ctrl-C, which
// makes `lock` and `elect` give up what they hold).

#include <chrono>
#include <string>
#include <sys/types.h>

namespace revkv::testing {

class BackgroundEtcdctl {
 public:
  // `bin` is etcdctl's path; `args` go through /bin/sh (the caller quotes).
  BackgroundEtcdctl(const std::string& bin, const std::string& endpoint, const std::string& args);
  ~BackgroundEtcdctl();
  BackgroundEtcdctl(const BackgroundEtcdctl&) = delete;
  BackgroundEtcdctl& operator=(const BackgroundEtcdctl&) = delete;

  // Reads until the output contains `text` or `limit` passes; whether it does.
  bool wait_for(const std::string& text, std::chrono::milliseconds limit);
  // Everything read so far (wait_for reads; this does not).
  const std::string& output() const { return out_; }
  // Writes to its stdin; closes it when `close` is set.
  void write(const std::string& input, bool close = false);
  // SIGINT, then waits up to `limit` for the exit (SIGKILL after); the exit status, or -1.
  int interrupt(std::chrono::milliseconds limit);
  // Waits up to `limit` for it to exit by itself, reading its output; its status or -1.
  int wait_exit(std::chrono::milliseconds limit);

 private:
  enum class Read { some, nothing, end };
  // Reads what is available within `limit`.
  Read read_some(std::chrono::milliseconds limit);
  int reap(bool block);

  pid_t pid_ = -1;
  int out_fd_ = -1;
  int in_fd_ = -1;
  int status_ = -1;
  bool exited_ = false;
  std::string out_;
};

}  // namespace revkv::testing
