#pragma once

// The MessagePack-RPC names of etcd's Cluster service and of Maintenance.MoveLeader
// (docs/PROTOCOL.md "Cluster.*"). Kept apart from protocol::Method, as the Auth names are:
// these calls do not enter the request path (they read or change the Raft configuration,
// actors/cluster_api.hpp, as on the gRPC door), so the path's tables, routing and
// per-method metrics never see them.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace revkv::protocol {

enum class ClusterMethod : uint8_t {
  member_list,
  member_add,
  member_remove,
  member_update,
  member_promote,
  move_leader,
};

inline constexpr std::size_t kClusterMethodCount = 6;

std::string_view cluster_method_name(ClusterMethod method);
std::optional<ClusterMethod> cluster_method_from_name(std::string_view name);

}  // namespace revkv::protocol
