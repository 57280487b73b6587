#include "etcdapi/gateway_routes.hpp"

#include "etcdserverpb/rpc.pb.h"

#include <string_view>
#include <unordered_map>

namespace revkv::etcdapi::gateway {

namespace {

namespace pb = etcdserverpb;

template <class Request, class Response>
Route route(const char* method, CallKind kind = CallKind::unary) {
  return {method, &Request::default_instance(), &Response::default_instance(), kind};
}

std::unordered_map<std::string_view, Route> build_routes() {
  std::unordered_map<std::string_view, Route> r;
  r["/kv/range"] = route<pb::RangeRequest, pb::RangeResponse>("/etcdserverpb.KV/Range");
  r["/kv/put"] = route<pb::PutRequest, pb::PutResponse>("/etcdserverpb.KV/Put");
  r["/kv/deleterange"] =
      route<pb::DeleteRangeRequest, pb::DeleteRangeResponse>("/etcdserverpb.KV/DeleteRange");
  r["/kv/txn"] = route<pb::TxnRequest, pb::TxnResponse>("/etcdserverpb.KV/Txn");
  r["/kv/compaction"] =
      route<pb::CompactionRequest, pb::CompactionResponse>("/etcdserverpb.KV/Compact");

  r["/watch"] =
      route<pb::WatchRequest, pb::WatchResponse>("/etcdserverpb.Watch/Watch", CallKind::watch);

  const auto grant =
      route<pb::LeaseGrantRequest, pb::LeaseGrantResponse>("/etcdserverpb.Lease/LeaseGrant");
  const auto revoke =
      route<pb::LeaseRevokeRequest, pb::LeaseRevokeResponse>("/etcdserverpb.Lease/LeaseRevoke");
  const auto keepalive = route<pb::LeaseKeepAliveRequest, pb::LeaseKeepAliveResponse>(
      "/etcdserverpb.Lease/LeaseKeepAlive", CallKind::requests);
  const auto ttl = route<pb::LeaseTimeToLiveRequest, pb::LeaseTimeToLiveResponse>(
      "/etcdserverpb.Lease/LeaseTimeToLive");
  const auto leases =
      route<pb::LeaseLeasesRequest, pb::LeaseLeasesResponse>("/etcdserverpb.Lease/LeaseLeases");
  r["/lease/grant"] = grant;
  r["/lease/revoke"] = revoke;
  r["/lease/keepalive"] = keepalive;
  r["/lease/timetolive"] = ttl;
  r["/lease/leases"] = leases;
  // etcd 3.4's first paths for these, still served beside the /v3/lease/ ones.
  r["/kv/lease/revoke"] = revoke;
  r["/kv/lease/timetolive"] = ttl;
  r["/kv/lease/leases"] = leases;

  r["/maintenance/alarm"] =
      route<pb::AlarmRequest, pb::AlarmResponse>("/etcdserverpb.Maintenance/Alarm");
  r["/maintenance/status"] =
      route<pb::StatusRequest, pb::StatusResponse>("/etcdserverpb.Maintenance/Status");
  r["/maintenance/defragment"] =
      route<pb::DefragmentRequest, pb::DefragmentResponse>("/etcdserverpb.Maintenance/Defragment");
  r["/maintenance/hash"] =
      route<pb::HashRequest, pb::HashResponse>("/etcdserverpb.Maintenance/Hash");
  r["/maintenance/hashkv"] =
      route<pb::HashKVRequest, pb::HashKVResponse>("/etcdserverpb.Maintenance/HashKV");
  r["/maintenance/snapshot"] = route<pb::SnapshotRequest, pb::SnapshotResponse>(
      "/etcdserverpb.Maintenance/Snapshot", CallKind::stream);
  r["/maintenance/transfer-leadership"] =
      route<pb::MoveLeaderRequest, pb::MoveLeaderResponse>("/etcdserverpb.Maintenance/MoveLeader");

  r["/cluster/member/add"] =
      route<pb::MemberAddRequest, pb::MemberAddResponse>("/etcdserverpb.Cluster/MemberAdd");
  r["/cluster/member/remove"] = route<pb::MemberRemoveRequest, pb::MemberRemoveResponse>(
      "/etcdserverpb.Cluster/MemberRemove");
  r["/cluster/member/update"] = route<pb::MemberUpdateRequest, pb::MemberUpdateResponse>(
      "/etcdserverpb.Cluster/MemberUpdate");
  r["/cluster/member/list"] =
      route<pb::MemberListRequest, pb::MemberListResponse>("/etcdserverpb.Cluster/MemberList");
  r["/cluster/member/promote"] = route<pb::MemberPromoteRequest, pb::MemberPromoteResponse>(
      "/etcdserverpb.Cluster/MemberPromote");

  r["/auth/status"] =
      route<pb::AuthStatusRequest, pb::AuthStatusResponse>("/etcdserverpb.Auth/AuthStatus");
  r["/auth/enable"] =
      route<pb::AuthEnableRequest, pb::AuthEnableResponse>("/etcdserverpb.Auth/AuthEnable");
  r["/auth/disable"] =
      route<pb::AuthDisableRequest, pb::AuthDisableResponse>("/etcdserverpb.Auth/AuthDisable");
  r["/auth/authenticate"] =
      route<pb::AuthenticateRequest, pb::AuthenticateResponse>("/etcdserverpb.Auth/Authenticate");
  r["/auth/user/add"] =
      route<pb::AuthUserAddRequest, pb::AuthUserAddResponse>("/etcdserverpb.Auth/UserAdd");
  r["/auth/user/get"] =
      route<pb::AuthUserGetRequest, pb::AuthUserGetResponse>("/etcdserverpb.Auth/UserGet");
  r["/auth/user/list"] =
      route<pb::AuthUserListRequest, pb::AuthUserListResponse>("/etcdserverpb.Auth/UserList");
  r["/auth/user/delete"] =
      route<pb::AuthUserDeleteRequest, pb::AuthUserDeleteResponse>("/etcdserverpb.Auth/UserDelete");
  r["/auth/user/changepw"] =
      route<pb::AuthUserChangePasswordRequest, pb::AuthUserChangePasswordResponse>(
          "/etcdserverpb.Auth/UserChangePassword");
  r["/auth/user/grant"] = route<pb::AuthUserGrantRoleRequest, pb::AuthUserGrantRoleResponse>(
      "/etcdserverpb.Auth/UserGrantRole");
  r["/auth/user/revoke"] = route<pb::AuthUserRevokeRoleRequest, pb::AuthUserRevokeRoleResponse>(
      "/etcdserverpb.Auth/UserRevokeRole");
  r["/auth/role/add"] =
      route<pb::AuthRoleAddRequest, pb::AuthRoleAddResponse>("/etcdserverpb.Auth/RoleAdd");
  r["/auth/role/get"] =
      route<pb::AuthRoleGetRequest, pb::AuthRoleGetResponse>("/etcdserverpb.Auth/RoleGet");
  r["/auth/role/list"] =
      route<pb::AuthRoleListRequest, pb::AuthRoleListResponse>("/etcdserverpb.Auth/RoleList");
  r["/auth/role/delete"] =
      route<pb::AuthRoleDeleteRequest, pb::AuthRoleDeleteResponse>("/etcdserverpb.Auth/RoleDelete");
  r["/auth/role/grant"] =
      route<pb::AuthRoleGrantPermissionRequest, pb::AuthRoleGrantPermissionResponse>(
          "/etcdserverpb.Auth/RoleGrantPermission");
  r["/auth/role/revoke"] =
      route<pb::AuthRoleRevokePermissionRequest, pb::AuthRoleRevokePermissionResponse>(
          "/etcdserverpb.Auth/RoleRevokePermission");
  return r;
}

}  // namespace

const Route* find_route(std::string_view path) {
  static const auto routes = build_routes();
  const auto it = routes.find(path);
  return it == routes.end() ? nullptr : &it->second;
}

}  // namespace revkv::etcdapi::gateway
