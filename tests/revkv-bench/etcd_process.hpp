#pragma once

// A real etcd 3.4 (Debian's etcd-server, /usr/bin/etcd) for the tests that drive the same
// load at revkvd and at etcd: a temporary data dir, free loopback ports, stopped by PID.

#include <cstdint>
#include <string>
#include <sys/types.h>

namespace revkv::testing {

inline constexpr const char* kEtcdPath = "/usr/bin/etcd";

// Whether kEtcdPath can be run here (else the test reports itself skipped).
bool etcd_available();

class EtcdProcess {
 public:
  // Starts etcd with `data_dir`; waits up to 30 s for its gRPC port to accept a channel.
  // Throws std::runtime_error when it does not.
  explicit EtcdProcess(const std::string& data_dir);
  ~EtcdProcess();
  EtcdProcess(const EtcdProcess&) = delete;
  EtcdProcess& operator=(const EtcdProcess&) = delete;

  std::string grpc_endpoint() const { return "127.0.0.1:" + std::to_string(client_port_); }

 private:
  void stop();

  pid_t pid_ = -1;
  uint16_t client_port_ = 0;
};

}  // namespace revkv::testing
