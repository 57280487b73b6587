#pragma once

// The verified client-certificate CN of each TLS connection a door was handed, by the
// descriptor of its plaintext end (docs/SECURITY.md "The certificate's CN as the user").
// TLS ends in front of the doors (tls/terminator.hpp), so a gRPC call only knows the
// descriptor it came on (its peer is "fd:N"); the client port records here, before gRPC
// sees the descriptor, which name the terminator verified on it. A descriptor number is
// reused only after gRPC closed it, which it does only once every call on it has ended,
// and each hand-off overwrites the entry of its number: a lookup always finds the name of
// the connection the call came on. Entries are never erased, so memory is bounded by the
// highest descriptor number (the process's open-file limit). So only calls on descriptors
// the client port handed over may be looked up here: another server given descriptors of
// its own (a peer port) would find the name a closed client connection left on its number.
//
// Thread-safe: lookups take a shared lock; `recording()` is a lock-free flag so that nodes
// without client certificates pay nothing.

#include <atomic>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

namespace revkv::auth {

class CertificateNames {
 public:
  // The connection on `fd` presented a verified certificate with this CN (nullopt: none).
  void record(int fd, std::optional<std::string> cn);
  // The CN of the connection a gRPC call with this peer string ("fd:N") came on.
  std::optional<std::string> of_grpc_peer(std::string_view peer) const;
  std::optional<std::string> of_fd(int fd) const;
  bool recording() const { return recording_.load(std::memory_order_acquire); }

 private:
  std::atomic<bool> recording_{false};
  mutable std::shared_mutex mutex_;
  std::vector<std::optional<std::string>> by_fd_;
};

}  // namespace revkv::auth
