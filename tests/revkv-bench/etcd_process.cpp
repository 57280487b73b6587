#include "tests/revkv-bench/etcd_process.hpp"

#include <arpa/inet.h>
#include <chrono>
#include <fcntl.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdexcept>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace revkv::testing {
namespace {

// A loopback port nothing listens on now (bound to port 0, then released): etcd takes
// ports from flags only.
uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("socket failed");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    ::close(fd);
    throw std::runtime_error("bind failed");
  }
  ::close(fd);
  return ntohs(a.sin_port);
}

// The child's exit status, or -1 when it is still running after `limit`.
int wait_for(pid_t pid, std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid)
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (std::chrono::steady_clock::now() > deadline) return -1;
    ::poll(nullptr, 0, 10);  // a child is polled for with a deadline: a short pause
  }
}

}  // namespace

bool etcd_available() {
  return ::access(kEtcdPath, X_OK) == 0;
}

EtcdProcess::EtcdProcess(const std::string& data_dir) {
  client_port_ = free_port();
  const std::string client = "http://127.0.0.1:" + std::to_string(client_port_);
  const std::string peer = "http://127.0.0.1:" + std::to_string(free_port());
  std::vector<std::string> args = {kEtcdPath,
                                   "--data-dir=" + data_dir,
                                   "--listen-client-urls=" + client,
                                   "--advertise-client-urls=" + client,
                                   "--listen-peer-urls=" + peer,
                                   "--initial-advertise-peer-urls=" + peer,
                                   "--initial-cluster=default=" + peer,
                                   "--log-outputs=stderr",
                                   "--logger=zap"};
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
    ::execv(kEtcdPath, argv.data());
    ::_exit(127);
  }
  auto channel = grpc::CreateChannel(grpc_endpoint(), grpc::InsecureChannelCredentials());
  auto deadline = std::chrono::system_clock::now() + std::chrono::seconds(30);
  if (!channel->WaitForConnected(deadline)) {
    stop();
    throw std::runtime_error("etcd did not accept a gRPC channel on " + grpc_endpoint());
  }
}

EtcdProcess::~EtcdProcess() {
  stop();
}

void EtcdProcess::stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  if (wait_for(pid_, std::chrono::seconds(20)) < 0) {
    ::kill(pid_, SIGKILL);
    wait_for(pid_, std::chrono::seconds(10));
  }
  pid_ = -1;
}

}  // namespace revkv::testing
