#pragma once

// A real etcd 3.4 (Debian's etcd-server) for the gateway tests that compare revkvd's JSON
// answers with etcd's own: started on free loopback ports with a temporary data dir,
// ready once its gateway answers /health, stopped by PID.

#include "tests/etcdapi/http_conn.hpp"
#include "tests/monitoring/http_client.hpp"

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace revkv::testing {

// Where etcd is; "" when it is not installed.
inline std::string find_etcd() {
  if (const char* env = std::getenv("ETCD_PATH"); env && *env)
    return std::filesystem::exists(env) ? env : "";
  for (const char* p : {"/usr/bin/etcd", "/usr/local/bin/etcd"})
    if (std::filesystem::exists(p)) return p;
  return "";
}

class GatewayEtcd {
 public:
  GatewayEtcd(const std::string& bin, const std::string& data_dir)
      : client_port_(free_loopback_port()), peer_port_(free_loopback_port()) {
    const std::string client = "http://127.0.0.1:" + std::to_string(client_port_);
    const std::string peer = "http://127.0.0.1:" + std::to_string(peer_port_);
    std::vector<std::string> args = {bin,
                                     "--data-dir=" + data_dir,
                                     "--listen-client-urls=" + client,
                                     "--advertise-client-urls=" + client,
                                     "--listen-peer-urls=" + peer,
                                     "--initial-advertise-peer-urls=" + peer,
                                     "--initial-cluster=default=" + peer,
                                     "--log-level=error"};
    pid_ = ::fork();
    if (pid_ == 0) {
      const int null = ::open("/dev/null", O_WRONLY);
      ::dup2(null, 1);
      ::dup2(null, 2);
      std::vector<char*> argv;
      for (auto& a : args)
        argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline) {
      HttpConn c(client_port_, 2);
      // Ready when a read through the gateway answers (health alone comes a bit earlier).
      if (c.connected() && c.request("GET", "/health").body.find("true") != std::string::npos &&
          c.post("/v3/kv/range", R"({"key":"AA=="})").status == 200) {
        ready_ = true;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  ~GatewayEtcd() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    int status = 0;
    for (int i = 0; i < 100 && ::waitpid(pid_, &status, WNOHANG) == 0; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (::waitpid(pid_, &status, WNOHANG) == 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
    }
  }
  GatewayEtcd(const GatewayEtcd&) = delete;
  GatewayEtcd& operator=(const GatewayEtcd&) = delete;

  bool ready() const { return ready_; }
  uint16_t port() const { return client_port_; }

 private:
  uint16_t client_port_;
  uint16_t peer_port_;
  pid_t pid_ = -1;
  bool ready_ = false;
};

}  // namespace revkv::testing
