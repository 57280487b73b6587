#include "tests/node/node_process.hpp"

#include <algorithm>
#include <cstdlib>
#include <fcntl.h>
#include <fstream>
#include <iterator>
#include <poll.h>
#include <regex>
#include <signal.h>
#include <stdexcept>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace revkv::testing {
namespace {

// Waits for the child with a deadline; -1 when it is still running.
int wait_for(pid_t pid, std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    int status = 0;
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (std::chrono::steady_clock::now() > deadline) return -1;
    // Polling a child without a blocking waitpid and with a deadline needs a short pause.
    ::poll(nullptr, 0, 10);
  }
}

// The end of a log file, for an error message: why a process did not start.
std::string log_tail(const std::string& log_file) {
  if (log_file.empty()) return {};
  std::ifstream in(log_file, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  constexpr size_t kTail = 2048;
  if (text.size() > kTail) text = text.substr(text.size() - kTail);
  return "; its log ends: " + text;
}

// `err_fd` null: stderr goes to `log_file` if one is named, else into a pipe nobody reads.
pid_t spawn(const std::vector<std::string>& args, int* out_fd, int* err_fd,
            const std::string& log_file = {}) {
  int out[2], err[2];
  if (::pipe(out) != 0 || ::pipe(err) != 0) throw std::runtime_error("pipe failed");
  pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    ::dup2(out[1], STDOUT_FILENO);
    int log = log_file.empty() ? -1 : ::open(log_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(log >= 0 ? log : err[1], STDERR_FILENO);
    ::close(out[0]);
    ::close(err[0]);
    std::vector<char*> argv;
    // Bazel passes the binary's runfiles path in the environment; CMake compiles it in.
    const char* from_env = std::getenv("REVKVD_PATH");
#ifdef REVKVD_PATH
    std::string path = from_env != nullptr ? from_env : REVKVD_PATH;
#else
    std::string path = from_env != nullptr ? from_env : "revkvd";
#endif
    argv.push_back(path.data());
    std::vector<std::string> copy = args;
    for (auto& a : copy)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(path.c_str(), argv.data());
    ::_exit(127);
  }
  ::close(out[1]);
  ::close(err[1]);
  *out_fd = out[0];
  if (err_fd) {
    *err_fd = err[0];
  } else {
    ::close(err[0]);  // stderr is not read: logs go nowhere
  }
  return pid;
}

}  // namespace

NodeProcess::NodeProcess(const std::string& data_dir, std::vector<std::string> extra,
                         const std::string& log_file) {
  // The defaults, each left out when `extra` names the flag itself (revkvd refuses a flag
  // given twice).
  const std::vector<std::pair<std::string, std::string>> defaults = {
      {"--data-dir", data_dir},
      {"--listen-client", "127.0.0.1:0"},
      {"--listen-metrics", "127.0.0.1:0"},
      {"--listen-grpc", "127.0.0.1:0"},
      {"--log-level", "warn"}};
  std::vector<std::string> args;
  for (const auto& [flag, value] : defaults) {
    if (std::find(extra.begin(), extra.end(), flag) == extra.end())
      args.insert(args.end(), {flag, value});
  }
  args.insert(args.end(), extra.begin(), extra.end());
  pid_ = spawn(args, &stdout_fd_, nullptr, log_file);
  std::string seen;
  // Generous: a node opening a large store on a loaded CI machine (two cores, a build beside
  // it) rebuilds its index before it is ready; the deadline only bounds a node that hangs.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  std::regex ready(
      R"(revkvd ready client=127\.0\.0\.1:(\d+) metrics=[^:]+:(\d+) grpc=[^:]+:(\d+))");
  std::smatch m;
  while (!std::regex_search(seen, m, ready)) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      kill9();
      throw std::runtime_error("revkvd did not become ready; stdout: " + seen);
    }
    pollfd p{stdout_fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    char buf[512];
    auto n = ::read(stdout_fd_, buf, sizeof buf);
    if (n <= 0) {
      int status = wait_for(pid_, std::chrono::seconds(5));
      pid_ = -1;
      throw std::runtime_error("revkvd exited (" + std::to_string(status) + ") before ready" +
                               log_tail(log_file));
    }
    seen.append(buf, static_cast<size_t>(n));
  }
  client_port_ = static_cast<uint16_t>(std::stoi(m[1]));
  metrics_port_ = static_cast<uint16_t>(std::stoi(m[2]));
  grpc_port_ = static_cast<uint16_t>(std::stoi(m[3]));
}

NodeProcess::~NodeProcess() {
  if (pid_ > 0) stop();
  if (stdout_fd_ >= 0) ::close(stdout_fd_);
}

int NodeProcess::stop(std::chrono::seconds grace) {
  if (pid_ <= 0) return -1;
  ::kill(pid_, SIGTERM);
  int status = wait_for(pid_, grace);
  if (status < 0) {
    ::kill(pid_, SIGKILL);
    wait_for(pid_, std::chrono::seconds(10));
  }
  pid_ = -1;
  return status;
}

int NodeProcess::wait_exit(std::chrono::milliseconds limit) {
  if (pid_ <= 0) return -1;
  int status = wait_for(pid_, limit);
  if (status >= 0) pid_ = -1;
  return status;
}

void NodeProcess::kill9() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  wait_for(pid_, std::chrono::seconds(10));
  pid_ = -1;
}

namespace {

// Runs revkvd to completion; returns its exit status and what it wrote on the chosen
// stream (the other one is small enough to sit in its pipe).
std::pair<int, std::string> run_and_read(const std::vector<std::string>& args, bool read_stdout) {
  int out = -1, err = -1;
  pid_t pid = spawn(args, &out, &err);
  int fd = read_stdout ? out : err;
  std::string text;
  char buf[512];
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    auto n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  int status = wait_for(pid, std::chrono::seconds(30));
  if (status < 0) {
    ::kill(pid, SIGKILL);
    wait_for(pid, std::chrono::seconds(10));
  }
  ::close(out);
  ::close(err);
  return {status, text};
}

}  // namespace

long proc_status_field(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(field + ":", 0) == 0) return std::stol(line.substr(field.size() + 1));
  }
  return -1;
}

std::pair<int, std::string> run_revkvd(const std::vector<std::string>& args) {
  return run_and_read(args, /*read_stdout=*/false);
}

std::pair<int, std::string> run_revkvd_stdout(const std::vector<std::string>& args) {
  return run_and_read(args, /*read_stdout=*/true);
}

}  // namespace revkv::testing
