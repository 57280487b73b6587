#include "tests/etcdapi/background_etcdctl.hpp"

#include <cerrno>
#include <csignal>
#include <poll.h>
#include <stdexcept>
#include <sys/wait.h>
#include <unistd.h>

namespace revkv::testing {

using Clock = std::chrono::steady_clock;

BackgroundEtcdctl::BackgroundEtcdctl(const std::string& bin, const std::string& endpoint,
                                     const std::string& args) {
  int out[2], in[2];
  if (::pipe(out) != 0 || ::pipe(in) != 0) throw std::runtime_error("pipe failed");
  std::string cmd = "exec " + bin + " --endpoints=" + endpoint +
                    " --dial-timeout=5s --command-timeout=30s " + args + " 2>&1";
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    ::setpgid(0, 0);
    ::dup2(in[0], 0);
    ::dup2(out[1], 1);
    ::close(in[0]);
    ::close(in[1]);
    ::close(out[0]);
    ::close(out[1]);
    ::setenv("ETCDCTL_API", "3", 1);
    ::execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(in[0]);
  ::close(out[1]);
  out_fd_ = out[0];
  in_fd_ = in[1];
}

BackgroundEtcdctl::~BackgroundEtcdctl() {
  if (!exited_) {
    ::kill(-pid_, SIGKILL);
    reap(true);
  }
  if (out_fd_ >= 0) ::close(out_fd_);
  if (in_fd_ >= 0) ::close(in_fd_);
}

BackgroundEtcdctl::Read BackgroundEtcdctl::read_some(std::chrono::milliseconds limit) {
  if (out_fd_ < 0) return Read::end;
  pollfd p{out_fd_, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(limit.count())) <= 0) return Read::nothing;
  char buf[4096];
  ssize_t got = ::read(out_fd_, buf, sizeof buf);
  if (got <= 0) {
    ::close(out_fd_);
    out_fd_ = -1;
    return Read::end;
  }
  out_.append(buf, static_cast<size_t>(got));
  return Read::some;
}

bool BackgroundEtcdctl::wait_for(const std::string& text, std::chrono::milliseconds limit) {
  auto deadline = Clock::now() + limit;
  while (out_.find(text) == std::string::npos && Clock::now() < deadline) {
    if (read_some(std::chrono::milliseconds(100)) == Read::end) break;
  }
  return out_.find(text) != std::string::npos;
}

void BackgroundEtcdctl::write(const std::string& input, bool close) {
  if (in_fd_ < 0) return;
  size_t off = 0;
  while (off < input.size()) {
    ssize_t n = ::write(in_fd_, input.data() + off, input.size() - off);
    if (n <= 0) break;
    off += static_cast<size_t>(n);
  }
  if (close) {
    ::close(in_fd_);
    in_fd_ = -1;
  }
}

int BackgroundEtcdctl::reap(bool block) {
  if (exited_) return status_;
  int status = 0;
  pid_t r = ::waitpid(pid_, &status, block ? 0 : WNOHANG);
  if (r != pid_) return -1;
  exited_ = true;
  status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return status_;
}

int BackgroundEtcdctl::wait_exit(std::chrono::milliseconds limit) {
  auto deadline = Clock::now() + limit;
  while (reap(false) < 0 && Clock::now() < deadline) {
    // Output closed, process not reaped yet: poll its exit.
    if (read_some(std::chrono::milliseconds(100)) == Read::end) ::usleep(20000);
  }
  while (read_some(std::chrono::milliseconds(0)) == Read::some) {
  }
  return exited_ ? status_ : -1;
}

int BackgroundEtcdctl::interrupt(std::chrono::milliseconds limit) {
  if (!exited_) ::kill(pid_, SIGINT);
  int status = wait_exit(limit);
  if (status < 0) {
    ::kill(-pid_, SIGKILL);
    reap(true);
    return -1;
  }
  return status;
}

}  // namespace revkv::testing
