#pragma once

// Cluster mode: where a member serves its clients (docs/CLUSTER.md "Forwarding"). Members
// know each other's peer addresses only (--initial-cluster); every member publishes its own
// client addresses through the Raft log (a state change of kind `member`, as etcd publishes
// member attributes through raft): the ready leader proposes its own, a follower hands its
// own to the leader over the leader's catch-up port (apps/revkvd/publish_request.hpp). Every
// member applies and persists them, and a follower then knows where to forward what only the
// leader serves.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace revkv::actors {

struct MemberAttributes {
  uint64_t id = 0;
  std::string name;
  std::string client;  // the MessagePack door, HOST:PORT
  std::string grpc;    // the gRPC door, HOST:PORT
  bool tls = false;    // both doors speak TLS only (--cert-file)
  // The catch-up port, HOST:PORT: where a follower publishes its own attributes while this
  // member leads. Empty in records written before it existed.
  std::string catchup;

  // etcd's clientURLs: the gRPC door (what etcdctl dials), http:// or https://.
  std::string grpc_url() const { return (tls ? "https://" : "http://") + grpc; }
  // The MessagePack door as a URL (what revkvctl dials), listed to MessagePack clients.
  std::string msgpack_url() const { return (tls ? "https://" : "http://") + client; }
  friend bool operator==(const MemberAttributes&, const MemberAttributes&) = default;
};

// The payload of a `member` state change (and of its record in the meta column).
std::string encode_member_attributes(const MemberAttributes& attributes);
// Empty when the bytes are not such a payload (truncated, trailing bytes). Tolerant of the
// first version, written before `catchup` existed: it decodes with `catchup` empty.
std::optional<MemberAttributes> decode_member_attributes(std::string_view bytes);

// The meta column key of a member's attributes.
std::string member_attributes_key(uint64_t id);

}  // namespace revkv::actors
