#include "tests/etcdapi/etcd_process.hpp"

#include "tests/monitoring/http_client.hpp"
#include "tests/skip.hpp"

#include <chrono>
#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <poll.h>
#include <signal.h>
#include <stdexcept>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace revkv::testing {
namespace {

int wait_exit(pid_t pid, std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid)
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (std::chrono::steady_clock::now() > deadline) return -1;
    ::poll(nullptr, 0, 10);  // a child's exit has no fd to wait on
  }
}

}  // namespace

std::string find_etcd() {
  if (const char* env = std::getenv("ETCD_PATH"); env && *env)
    return std::filesystem::exists(env) ? env : "";
  for (const char* p : {"/usr/bin/etcd", "/usr/local/bin/etcd"})
    if (std::filesystem::exists(p)) return p;
  return "";
}

std::string etcd_or_skip() {
  auto bin = find_etcd();
  if (bin.empty()) report_skipped("etcd not installed (Debian etcd-server; scripts/setup)");
  return bin;
}

EtcdProcess::EtcdProcess(const std::string& bin, const std::string& data_dir,
                         const std::vector<std::string>& extra, bool https) {
  for (int attempt = 0; attempt < 5; ++attempt) {
    // etcd takes no port 0 for its URLs: ports free a moment ago; another process could
    // take one meanwhile, and etcd then exits: retried with new ones.
    client_port_ = free_loopback_port();
    uint16_t peer = free_loopback_port();
    std::string client =
        std::string(https ? "https" : "http") + "://127.0.0.1:" + std::to_string(client_port_);
    const uint16_t health_port = https ? free_loopback_port() : client_port_;
    std::string peer_url = "http://127.0.0.1:" + std::to_string(peer);
    std::vector<std::string> args = {bin,
                                     "--name=default",
                                     "--data-dir=" + data_dir,
                                     "--listen-client-urls=" + client,
                                     "--advertise-client-urls=" + client,
                                     "--listen-peer-urls=" + peer_url,
                                     "--initial-advertise-peer-urls=" + peer_url,
                                     "--initial-cluster=default=" + peer_url,
                                     "--log-level=error",
                                     "--logger=zap"};
    if (https)
      args.push_back("--listen-metrics-urls=http://127.0.0.1:" + std::to_string(health_port));
    args.insert(args.end(), extra.begin(), extra.end());
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      int null = ::open("/dev/null", O_WRONLY);
      ::dup2(null, STDOUT_FILENO);
      ::dup2(null, STDERR_FILENO);
      std::vector<char*> argv;
      for (auto& a : args)
        argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(bin.c_str(), argv.data());
      ::_exit(127);
    }
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < deadline) {
      if (wait_exit(pid_, std::chrono::milliseconds(50)) >= 0) break;  // e.g. port taken
      // Serving, not just listening: a member answers /health once it leads.
      if (http_get(health_port, "/health").body.find("\"true\"") != std::string::npos) return;
    }
    ::kill(pid_, SIGKILL);
    wait_exit(pid_, std::chrono::seconds(20));
    std::filesystem::remove_all(data_dir);
  }
  throw std::runtime_error("etcd did not start");
}

int EtcdProcess::stop() {
  if (pid_ < 0) return 0;
  ::kill(pid_, SIGTERM);
  int status = wait_exit(pid_, std::chrono::seconds(20));
  if (status < 0) {
    ::kill(pid_, SIGKILL);
    status = wait_exit(pid_, std::chrono::seconds(20));
  }
  pid_ = -1;
  return status;
}

EtcdProcess::~EtcdProcess() {
  stop();
}

}  // namespace revkv::testing
