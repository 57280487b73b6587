#pragma once

// The bodies of etcd's Cluster service and Maintenance.MoveLeader on the MessagePack door
// (docs/PROTOCOL.md "Cluster.*"), with etcd's rpc.proto field names (`ID`, `peerURLs`,
// `clientURLs`, `isLearner`, `targetID`). MemberRemove, MemberUpdate and MemberPromote
// answer one shape ({header, members}), so they share one struct.

#include "protocol/messages.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace revkv::protocol {

// etcdserverpb.Member. An added member that has not started has no name and no client URLs.
struct ClusterMember {
  uint64_t id = 0;
  std::string name;
  std::vector<std::string> peer_urls;
  std::vector<std::string> client_urls;
  bool is_learner = false;
  friend bool operator==(const ClusterMember&, const ClusterMember&) = default;
};

// MemberList: no fields (etcd 3.4's request has none).
struct MemberListRequest {
  friend bool operator==(const MemberListRequest&, const MemberListRequest&) = default;
};

struct MemberAddRequest {
  std::vector<std::string> peer_urls;
  bool is_learner = false;
  friend bool operator==(const MemberAddRequest&, const MemberAddRequest&) = default;
};

// MemberRemove, MemberPromote: {ID}.
struct MemberIdRequest {
  uint64_t id = 0;
  friend bool operator==(const MemberIdRequest&, const MemberIdRequest&) = default;
};

struct MemberUpdateRequest {
  uint64_t id = 0;
  std::vector<std::string> peer_urls;
  friend bool operator==(const MemberUpdateRequest&, const MemberUpdateRequest&) = default;
};

// MemberList, MemberRemove, MemberUpdate, MemberPromote: {header, members}.
struct MembersResponse {
  ResponseHeader header;
  std::vector<ClusterMember> members;
  friend bool operator==(const MembersResponse&, const MembersResponse&) = default;
};

struct MemberAddResponse {
  ResponseHeader header;
  ClusterMember member;
  std::vector<ClusterMember> members;
  friend bool operator==(const MemberAddResponse&, const MemberAddResponse&) = default;
};

struct MoveLeaderRequest {
  uint64_t target_id = 0;
  friend bool operator==(const MoveLeaderRequest&, const MoveLeaderRequest&) = default;
};

struct MoveLeaderResponse {
  ResponseHeader header;
  friend bool operator==(const MoveLeaderResponse&, const MoveLeaderResponse&) = default;
};

}  // namespace revkv::protocol
