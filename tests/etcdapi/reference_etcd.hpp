#pragma once

// A real etcd (Debian's etcd-server, etcd 3.4) for the tests that prove a client script
// against the reference: one member on free loopback ports (client and peer), a data
// directory the caller owns, its log beside it, stopped by PID (SIGTERM, then SIGKILL).

#include <arpa/inet.h>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <netinet/in.h>
#include <poll.h>
#include <stdexcept>
#include <string>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace revkv::testing {

// Where etcd is; "" when it is not installed. ETCD_PATH overrides the search.
inline std::string find_etcd() {
  if (const char* env = std::getenv("ETCD_PATH"); env && *env)
    return std::filesystem::exists(env) ? env : "";
  for (const char* p : {"/usr/bin/etcd", "/usr/local/bin/etcd"})
    if (std::filesystem::exists(p)) return p;
  return "";
}

// A loopback port nothing listens on now (the kernel's pick; etcd binds it a moment later).
inline uint16_t free_loopback_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("socket failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    throw std::runtime_error("bind failed");
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

inline bool accepts_connections(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  ::close(fd);
  return ok;
}

class ReferenceEtcd {
 public:
  // Starts `binary` (find_etcd()) on `data_dir` and waits up to 30 s for its client port.
  ReferenceEtcd(const std::string& binary, const std::string& data_dir)
      : client_port_(free_loopback_port()) {
    do {
      peer_port_ = free_loopback_port();
    } while (peer_port_ == client_port_);
    const std::string client = "http://127.0.0.1:" + std::to_string(client_port_);
    const std::string peer = "http://127.0.0.1:" + std::to_string(peer_port_);
    std::vector<std::string> args = {binary,
                                     "--name=default",
                                     "--data-dir=" + data_dir,
                                     "--listen-client-urls=" + client,
                                     "--advertise-client-urls=" + client,
                                     "--listen-peer-urls=" + peer,
                                     "--initial-advertise-peer-urls=" + peer,
                                     "--initial-cluster=default=" + peer};
    const std::string log = data_dir + ".log";
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (fd >= 0) {
        ::dup2(fd, STDOUT_FILENO);
        ::dup2(fd, STDERR_FILENO);
      }
      std::vector<char*> argv;
      for (auto& a : args)
        argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!accepts_connections(client_port_)) {
      if (std::chrono::steady_clock::now() > deadline) {
        stop();
        throw std::runtime_error("etcd did not listen on " + client + " (log: " + log + ")");
      }
      // Nothing to wait on but the port itself: a short pause between connection attempts.
      ::poll(nullptr, 0, 50);
    }
  }
  ~ReferenceEtcd() { stop(); }
  ReferenceEtcd(const ReferenceEtcd&) = delete;
  ReferenceEtcd& operator=(const ReferenceEtcd&) = delete;

  std::string endpoint() const { return "127.0.0.1:" + std::to_string(client_port_); }

  // SIGTERM, up to 20 s to exit, then SIGKILL; the exit status (-1 if killed or not running).
  int stop() {
    if (pid_ <= 0) return -1;
    ::kill(pid_, SIGTERM);
    int status = 0;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    for (;;) {
      pid_t r = ::waitpid(pid_, &status, WNOHANG);
      if (r == pid_ || (r < 0 && errno != EINTR)) break;
      if (std::chrono::steady_clock::now() > deadline) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
        pid_ = -1;
        return -1;
      }
      ::poll(nullptr, 0, 20);
    }
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

 private:
  uint16_t client_port_;
  uint16_t peer_port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace revkv::testing
