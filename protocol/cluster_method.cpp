#include "protocol/cluster_method.hpp"

#include <array>

namespace revkv::protocol {
namespace {

// Indexed by the enum's value.
constexpr std::array<std::string_view, kClusterMethodCount> kNames{
    "Cluster.MemberList",   "Cluster.MemberAdd",     "Cluster.MemberRemove",
    "Cluster.MemberUpdate", "Cluster.MemberPromote", "Maintenance.MoveLeader",
};
static_assert(static_cast<std::size_t>(ClusterMethod::move_leader) + 1 == kClusterMethodCount);

}  // namespace

std::string_view cluster_method_name(ClusterMethod method) {
  return kNames[static_cast<std::size_t>(method)];
}

std::optional<ClusterMethod> cluster_method_from_name(std::string_view name) {
  for (std::size_t i = 0; i < kNames.size(); ++i)
    if (kNames[i] == name) return static_cast<ClusterMethod>(i);
  return std::nullopt;
}

}  // namespace revkv::protocol
