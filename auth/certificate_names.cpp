#include "auth/certificate_names.hpp"

#include <charconv>
#include <mutex>

namespace revkv::auth {

void CertificateNames::record(int fd, std::optional<std::string> cn) {
  if (fd < 0) return;
  std::unique_lock lock(mutex_);
  const auto index = static_cast<size_t>(fd);
  if (index >= by_fd_.size()) {
    // A descriptor without a certificate needs no room: what is past the end is no one.
    if (!cn) return;
    by_fd_.resize(index + 1);
  }
  by_fd_[index] = std::move(cn);
  if (by_fd_[index]) recording_.store(true, std::memory_order_release);
}

std::optional<std::string> CertificateNames::of_fd(int fd) const {
  if (fd < 0) return std::nullopt;
  std::shared_lock lock(mutex_);
  const auto index = static_cast<size_t>(fd);
  if (index >= by_fd_.size()) return std::nullopt;
  return by_fd_[index];
}

std::optional<std::string> CertificateNames::of_grpc_peer(std::string_view peer) const {
  // gRPC names a connection added from a descriptor "fd:N" (grpc::AddInsecureChannelFromFd).
  constexpr std::string_view kPrefix = "fd:";
  if (!peer.starts_with(kPrefix)) return std::nullopt;
  peer.remove_prefix(kPrefix.size());
  int fd = -1;
  const auto [end, ec] = std::from_chars(peer.data(), peer.data() + peer.size(), fd);
  if (ec != std::errc() || end != peer.data() + peer.size()) return std::nullopt;
  return of_fd(fd);
}

}  // namespace revkv::auth
