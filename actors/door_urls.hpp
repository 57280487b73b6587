#pragma once

// Where this node's two client doors serve, as URLs (http:// or https://, HOST:PORT), known
// once each listener is bound (port 0 picks one). Cluster.MemberList lists this member's
// client URL as the door asking sees it: a MessagePack client is shown MessagePack URLs, a
// gRPC client (etcdctl) gRPC URLs (actors/cluster_api.hpp).

#include <cstdint>
#include <mutex>
#include <string>

namespace revkv::actors {

enum class Door : uint8_t { msgpack, grpc };

class DoorUrls {
 public:
  void set(Door door, std::string url) {
    std::lock_guard lock(mutex_);
    (door == Door::grpc ? grpc_ : msgpack_) = std::move(url);
  }
  // "" while unknown (a test harness sets none).
  std::string get(Door door) const {
    std::lock_guard lock(mutex_);
    return door == Door::grpc ? grpc_ : msgpack_;
  }

 private:
  mutable std::mutex mutex_;  // set after the doors start, while calls may run
  std::string msgpack_;
  std::string grpc_;
};

}  // namespace revkv::actors
