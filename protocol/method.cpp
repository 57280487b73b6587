#include "protocol/method.hpp"

namespace revkv::protocol {
namespace {

struct Entry {
  Method method;
  std::string_view name;
};

// Indexed by the enum's value (checked by the tests).
constexpr std::array<Entry, kMethodCount> kMethods{{
    {Method::kv_range, "KV.Range"},
    {Method::kv_put, "KV.Put"},
    {Method::kv_delete_range, "KV.DeleteRange"},
    {Method::kv_txn, "KV.Txn"},
    {Method::kv_compact, "KV.Compact"},
    {Method::watch, "Watch.Watch"},
    {Method::lease_grant, "Lease.LeaseGrant"},
    {Method::lease_revoke, "Lease.LeaseRevoke"},
    {Method::lease_keep_alive, "Lease.LeaseKeepAlive"},
    {Method::lease_time_to_live, "Lease.LeaseTimeToLive"},
    {Method::lease_leases, "Lease.LeaseLeases"},
    {Method::maintenance_status, "Maintenance.Status"},
    {Method::maintenance_defragment, "Maintenance.Defragment"},
    {Method::maintenance_hash_kv, "Maintenance.HashKV"},
    {Method::maintenance_snapshot, "Maintenance.Snapshot"},
    {Method::maintenance_alarm, "Maintenance.Alarm"},
    {Method::maintenance_hash, "Maintenance.Hash"},
}};

constexpr bool table_in_enum_order() {
  for (std::size_t i = 0; i < kMethods.size(); ++i)
    if (static_cast<std::size_t>(kMethods[i].method) != i) return false;
  return true;
}
static_assert(table_in_enum_order(), "kMethods must be in enum order");

}  // namespace

std::string_view method_name(Method method) {
  return kMethods[static_cast<std::size_t>(method)].name;
}

std::optional<Method> method_from_name(std::string_view name) {
  for (const auto& e : kMethods)
    if (e.name == name) return e.method;
  return std::nullopt;
}

const std::array<Method, kMethodCount>& all_methods() {
  static const std::array<Method, kMethodCount> methods = [] {
    std::array<Method, kMethodCount> out{};
    for (std::size_t i = 0; i < kMethods.size(); ++i)
      out[i] = kMethods[i].method;
    return out;
  }();
  return methods;
}

}  // namespace revkv::protocol
