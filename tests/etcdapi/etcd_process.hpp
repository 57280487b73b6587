#pragma once

// A real etcd 3.4 (Debian's etcd-server) as the reference server: a single member on free
// loopback ports with a temporary data directory, stopped by PID. Tests compare what a
// client sees from it with what it sees from revkvd.

#include <string>
#include <sys/types.h>
#include <vector>

namespace revkv::testing {

// Where etcd is; "" when it is not installed (ETCD_PATH overrides the search).
std::string find_etcd();
// find_etcd(), or "" after reporting the test skipped (etcd not installed).
std::string etcd_or_skip();

class EtcdProcess {
 public:
  // Starts `bin` with its data in `data_dir`; waits up to 60 s until it answers on its
  // client URL. Throws std::runtime_error when it does not. `extra` flags follow etcd's
  // own (e.g. --quota-backend-bytes).
  // `https`: the client URL is https (give etcd its --cert-file etc. in `extra`); its
  // readiness is then read from a plaintext metrics URL (--listen-metrics-urls).
  EtcdProcess(const std::string& bin, const std::string& data_dir,
              const std::vector<std::string>& extra = {}, bool https = false);
  ~EtcdProcess();
  EtcdProcess(const EtcdProcess&) = delete;
  EtcdProcess& operator=(const EtcdProcess&) = delete;

  // host:port of its client URL (gRPC and the JSON gateway, as etcd serves both there).
  std::string endpoint() const { return "127.0.0.1:" + std::to_string(client_port_); }
  pid_t pid() const { return pid_; }
  // SIGTERM and wait (SIGKILL after 20 s); the exit status.
  int stop();

 private:
  pid_t pid_ = -1;
  uint16_t client_port_ = 0;
};

}  // namespace revkv::testing
