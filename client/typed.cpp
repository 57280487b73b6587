// The typed helpers of Client: encode the request with protocol/codec, decode the result.

#include "client/client.hpp"
#include "client/decode_result.hpp"
#include "protocol/codec.hpp"

namespace revkv::client {

template <class Resp, class Req>
Result<Resp> Client::typed_call(protocol::Method method, const Req& request) {
  auto r = call(protocol::method_name(method), protocol::encode_to_string(request));
  if (!r) return r.error();
  return decode_result<Resp>(r.value().result);
}

template <class Resp, class Req>
Result<Resp> Client::auth_call(protocol::AuthMethod method, const Req& request) {
  auto r = call(protocol::auth_method_name(method), protocol::encode_to_string(request));
  if (!r) return r.error();
  return decode_result<Resp>(r.value().result);
}

template <class Resp, class Req>
Result<Resp> Client::cluster_call(protocol::ClusterMethod method, const Req& request) {
  auto r = call(protocol::cluster_method_name(method), protocol::encode_to_string(request));
  if (!r) return r.error();
  return decode_result<Resp>(r.value().result);
}

using protocol::Method;
namespace p = protocol;
namespace s = storage;

Result<p::KvResponse<s::RangeResponse>> Client::range(const s::RangeRequest& r) {
  return typed_call<p::KvResponse<s::RangeResponse>>(Method::kv_range, r);
}
Result<p::KvResponse<s::PutResponse>> Client::put(const s::PutRequest& r) {
  return typed_call<p::KvResponse<s::PutResponse>>(Method::kv_put, r);
}
Result<p::KvResponse<s::DeleteRangeResponse>> Client::delete_range(const s::DeleteRangeRequest& r) {
  return typed_call<p::KvResponse<s::DeleteRangeResponse>>(Method::kv_delete_range, r);
}
Result<p::KvResponse<s::TxnResponse>> Client::txn(const s::TxnRequest& r) {
  return typed_call<p::KvResponse<s::TxnResponse>>(Method::kv_txn, r);
}
Result<p::KvResponse<s::CompactResponse>> Client::compact(const p::CompactionRequest& r) {
  return typed_call<p::KvResponse<s::CompactResponse>>(Method::kv_compact, r);
}
Result<p::WatchResponse> Client::watch(const p::WatchRequest& r) {
  return typed_call<p::WatchResponse>(Method::watch, r);
}
Result<p::LeaseGrantResponse> Client::lease_grant(const p::LeaseGrantRequest& r) {
  return typed_call<p::LeaseGrantResponse>(Method::lease_grant, r);
}
Result<p::LeaseRevokeResponse> Client::lease_revoke(const p::LeaseRevokeRequest& r) {
  return typed_call<p::LeaseRevokeResponse>(Method::lease_revoke, r);
}
Result<p::LeaseKeepAliveResponse> Client::lease_keep_alive(const p::LeaseKeepAliveRequest& r) {
  return typed_call<p::LeaseKeepAliveResponse>(Method::lease_keep_alive, r);
}
Result<p::LeaseTimeToLiveResponse> Client::lease_time_to_live(const p::LeaseTimeToLiveRequest& r) {
  return typed_call<p::LeaseTimeToLiveResponse>(Method::lease_time_to_live, r);
}
Result<p::LeaseLeasesResponse> Client::lease_leases() {
  return typed_call<p::LeaseLeasesResponse>(Method::lease_leases, p::LeaseLeasesRequest{});
}
Result<p::StatusResponse> Client::status() {
  return typed_call<p::StatusResponse>(Method::maintenance_status, p::StatusRequest{});
}
Result<p::HashResponse> Client::hash() {
  return typed_call<p::HashResponse>(Method::maintenance_hash, p::HashRequest{});
}

Result<p::DefragmentResponse> Client::defragment() {
  return typed_call<p::DefragmentResponse>(Method::maintenance_defragment, p::DefragmentRequest{});
}
Result<p::HashKVResponse> Client::hash_kv(const p::HashKVRequest& r) {
  return typed_call<p::HashKVResponse>(Method::maintenance_hash_kv, r);
}
Result<p::AlarmResponse> Client::alarm(const p::AlarmRequest& r) {
  return typed_call<p::AlarmResponse>(Method::maintenance_alarm, r);
}

Result<p::SnapshotResponse> Client::snapshot(const SnapshotChunkHandler& on_chunk) {
  uint32_t msgid = queue(p::method_name(Method::maintenance_snapshot),
                         p::encode_to_string(p::SnapshotRequest{}));
  // Route this request's chunks to on_chunk for the duration of the call; anything else
  // keeps going to the caller's handler.
  NotificationHandler saved = handler_;
  std::optional<p::WireError> chunk_error;
  handler_ = [&](const Notification& n) {
    if (n.method != p::method_name(Method::maintenance_snapshot)) {
      if (saved) saved(n);
      return;
    }
    if (chunk_error) return;
    auto chunk = p::decode_body<p::SnapshotChunk>(n.body);
    if (!chunk) {
      chunk_error =
          p::WireError{kCodeInternal, "revkv: bad snapshot chunk: " + chunk.error().message};
    } else if (chunk.value().msgid == msgid && !on_chunk(chunk.value())) {
      chunk_error = p::WireError{1, "revkv: snapshot aborted"};
    }
  };
  auto restore = [&] { handler_ = saved; };
  auto flushed = flush();
  auto r = flushed ? wait(msgid) : Result<Response>(flushed.error());
  restore();
  // A failed chunk leaves the rest of the stream unread: the connection cannot be reused.
  if (chunk_error) {
    static_cast<void>(fail(*chunk_error));
    return *chunk_error;
  }
  if (!r) return r.error();
  if (r.value().error) return *r.value().error;
  return decode_result<p::SnapshotResponse>(r.value().result);
}

using A = p::AuthMethod;
using Done = Result<p::AuthEmptyResponse>;

Result<p::AuthenticateResponse> Client::authenticate(std::string_view name,
                                                     std::string_view password) {
  // Without the old token, as etcd's clients authenticate: a stale one would make the node
  // refuse the call itself ("invalid auth token").
  token_.reset();
  auto r = auth_call<p::AuthenticateResponse>(
      A::authenticate, p::AuthNamePasswordRequest{std::string(name), std::string(password)});
  if (r) token_ = r.value().token;
  return r;
}
Done Client::auth_enable() {
  return auth_call<p::AuthEmptyResponse>(A::auth_enable, p::AuthEmptyRequest{});
}
Done Client::auth_disable() {
  return auth_call<p::AuthEmptyResponse>(A::auth_disable, p::AuthEmptyRequest{});
}
Result<p::AuthStatusResponse> Client::auth_status() {
  return auth_call<p::AuthStatusResponse>(A::auth_status, p::AuthEmptyRequest{});
}
Done Client::user_add(const p::AuthUserAddRequest& r) {
  return auth_call<p::AuthEmptyResponse>(A::user_add, r);
}
Result<p::AuthRolesResponse> Client::user_get(std::string_view name) {
  return auth_call<p::AuthRolesResponse>(A::user_get, p::AuthNameRequest{std::string(name)});
}
Result<p::AuthUserListResponse> Client::user_list() {
  return auth_call<p::AuthUserListResponse>(A::user_list, p::AuthEmptyRequest{});
}
Done Client::user_delete(std::string_view name) {
  return auth_call<p::AuthEmptyResponse>(A::user_delete, p::AuthNameRequest{std::string(name)});
}
Done Client::user_change_password(std::string_view name, std::string_view password) {
  return auth_call<p::AuthEmptyResponse>(
      A::user_change_password,
      p::AuthNamePasswordRequest{std::string(name), std::string(password)});
}
Done Client::user_grant_role(std::string_view user, std::string_view role) {
  return auth_call<p::AuthEmptyResponse>(
      A::user_grant_role, p::AuthUserGrantRoleRequest{std::string(user), std::string(role)});
}
Done Client::user_revoke_role(std::string_view user, std::string_view role) {
  return auth_call<p::AuthEmptyResponse>(
      A::user_revoke_role, p::AuthUserRevokeRoleRequest{std::string(user), std::string(role)});
}
Done Client::role_add(std::string_view name) {
  return auth_call<p::AuthEmptyResponse>(A::role_add, p::AuthNameRequest{std::string(name)});
}
Result<p::AuthRoleGetResponse> Client::role_get(std::string_view role) {
  return auth_call<p::AuthRoleGetResponse>(A::role_get, p::AuthRoleRequest{std::string(role)});
}
Result<p::AuthRolesResponse> Client::role_list() {
  return auth_call<p::AuthRolesResponse>(A::role_list, p::AuthEmptyRequest{});
}
Done Client::role_delete(std::string_view role) {
  return auth_call<p::AuthEmptyResponse>(A::role_delete, p::AuthRoleRequest{std::string(role)});
}
Done Client::role_grant_permission(const p::AuthRoleGrantPermissionRequest& r) {
  return auth_call<p::AuthEmptyResponse>(A::role_grant_permission, r);
}
Done Client::role_revoke_permission(const p::AuthRoleRevokePermissionRequest& r) {
  return auth_call<p::AuthEmptyResponse>(A::role_revoke_permission, r);
}

using C = p::ClusterMethod;

Result<p::MembersResponse> Client::member_list() {
  return cluster_call<p::MembersResponse>(C::member_list, p::MemberListRequest{});
}
Result<p::MemberAddResponse> Client::member_add(const p::MemberAddRequest& r) {
  return cluster_call<p::MemberAddResponse>(C::member_add, r);
}
Result<p::MembersResponse> Client::member_remove(uint64_t id) {
  return cluster_call<p::MembersResponse>(C::member_remove, p::MemberIdRequest{id});
}
Result<p::MembersResponse> Client::member_update(const p::MemberUpdateRequest& r) {
  return cluster_call<p::MembersResponse>(C::member_update, r);
}
Result<p::MembersResponse> Client::member_promote(uint64_t id) {
  return cluster_call<p::MembersResponse>(C::member_promote, p::MemberIdRequest{id});
}
Result<p::MoveLeaderResponse> Client::move_leader(uint64_t target_id) {
  return cluster_call<p::MoveLeaderResponse>(C::move_leader, p::MoveLeaderRequest{target_id});
}

}  // namespace revkv::client
