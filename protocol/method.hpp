#pragma once

// The RPC method names of docs/PROTOCOL.md. Routing switches on the enum; the names are the
// contract and never change.

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace revkv::protocol {

enum class Method : uint8_t {
  kv_range,
  kv_put,
  kv_delete_range,
  kv_txn,
  kv_compact,
  watch,
  lease_grant,
  lease_revoke,
  lease_keep_alive,
  lease_time_to_live,
  lease_leases,
  maintenance_status,
  maintenance_defragment,
  maintenance_hash_kv,
  maintenance_snapshot,
  maintenance_alarm,
  maintenance_hash,
};

inline constexpr std::size_t kMethodCount = 17;

std::string_view method_name(Method method);
// nullopt: answer with unknown_method(name).
std::optional<Method> method_from_name(std::string_view name);
const std::array<Method, kMethodCount>& all_methods();

}  // namespace revkv::protocol
