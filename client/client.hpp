#pragma once

// A blocking MessagePack-RPC client for one revkvd connection (docs/PROTOCOL.md).
//
// call() sends one request and waits for its response. For pipelining, queue() requests,
// flush() them, then take responses with next_response() (any msgid, arrival order) or
// wait() (one msgid; responses to other msgids that arrive meanwhile are kept for later).
// Notifications (Watch.Watch events, Maintenance.Snapshot chunks) that arrive while the
// client reads are passed to the notification handler, in arrival order.
//
// Errors come back as protocol::WireError: the node's {code, message} for a refused request,
// 14 UNAVAILABLE / 4 DEADLINE_EXCEEDED / 13 INTERNAL for transport failures. A transport
// failure breaks the client: every later call returns the same error.
//
// Not thread-safe: one thread per Client (the bench tool opens one per connection).

#include "client/response_decoder.hpp"
#include "client/socket.hpp"
#include "protocol/auth_messages.hpp"
#include "protocol/auth_method.hpp"
#include "protocol/cluster_messages.hpp"
#include "protocol/cluster_method.hpp"
#include "protocol/messages.hpp"
#include "protocol/method.hpp"
#include "storage/types.hpp"
#include "tls/client_tunnel.hpp"

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>

namespace revkv::client {

struct ClientOptions {
  std::chrono::milliseconds connect_timeout{5000};
  // Per call()/wait()/next_response(); 0 = wait forever (watch).
  std::chrono::milliseconds request_timeout{0};
  ClientLimits limits;
  // TLS to a node started with --cert-file (also when the endpoint says https://).
  tls::ClientConfig tls;
};

using Ok = std::monostate;
using NotificationHandler = std::function<void(const Notification&)>;
// Return false to abort the snapshot transfer (the client is broken afterwards).
using SnapshotChunkHandler = std::function<bool(const protocol::SnapshotChunk&)>;

class Client {
 public:
  static Result<Client> connect(const Endpoint& endpoint, ClientOptions options = {});
  static Result<Client> connect(std::string_view endpoint, ClientOptions options = {});
  // Adopts an already connected socket (tests, socketpair()).
  Client(UniqueFd fd, ClientOptions options);

  void set_notification_handler(NotificationHandler handler) { handler_ = std::move(handler); }
  void set_request_timeout(std::chrono::milliseconds timeout) {
    options_.request_timeout = timeout;
  }

  // The auth token sent with every later request (params [body, {token}]), as etcd's
  // clients send one in each call's metadata; nullopt: none. authenticate() sets it.
  void set_token(std::optional<std::string> token) { token_ = std::move(token); }
  const std::optional<std::string>& token() const { return token_; }
  // Marks every later request `forwarded` (params [body, {forwarded: true}]): what a cluster
  // member's forwarder sends on its client's behalf. A member that does not lead answers a
  // marked request "etcdserver: not leader" instead of forwarding it again, so a request
  // cannot bounce between two members that each take the other for the leader
  // (docs/CLUSTER.md "Forwarding"). A client gains nothing by setting it.
  void set_forwarded(bool forwarded) { forwarded_ = forwarded; }
  // A transport failure broke it (every later call fails the same way): reconnect.
  bool broken() const { return broken_.has_value(); }
  // Responses read and not yet taken, counted in arrival order (taken ones included until
  // the earlier ones are taken too): bounded by the requests outstanding.
  size_t held_responses() const { return arrival_.size(); }

  // -- untyped ------------------------------------------------------------------------------
  // `body` is one encoded msgpack map, or empty for params [].
  uint32_t queue(std::string_view method, std::string_view body);
  // Sends what is queued, reading (and keeping) responses and notifications meanwhile, so a
  // node that stops reading until its answers are taken cannot deadlock it.
  Result<Ok> flush();
  Result<Response> next_response();
  Result<Response> wait(uint32_t msgid);
  // Reads whatever arrives (at least one frame), dispatching notifications; responses are
  // kept for wait()/next_response(). For a watch loop.
  Result<Ok> pump();
  // As pump(), but waits at most `timeout` (> 0) for something to arrive; false when
  // nothing did (the client stays usable).
  Result<bool> pump_for(std::chrono::milliseconds timeout);
  // One request, its result (an error response becomes the error).
  Result<Response> call(std::string_view method, std::string_view body);

  // -- typed ----------------------------------------------------------------------------
  Result<protocol::KvResponse<storage::RangeResponse>> range(const storage::RangeRequest& r);
  Result<protocol::KvResponse<storage::PutResponse>> put(const storage::PutRequest& r);
  Result<protocol::KvResponse<storage::DeleteRangeResponse>> delete_range(
      const storage::DeleteRangeRequest& r);
  Result<protocol::KvResponse<storage::TxnResponse>> txn(const storage::TxnRequest& r);
  Result<protocol::KvResponse<storage::CompactResponse>> compact(
      const protocol::CompactionRequest& r);
  // The create/cancel/progress answer; the events arrive as Watch.Watch notifications
  // (decode them with decode_watch_notification).
  Result<protocol::WatchResponse> watch(const protocol::WatchRequest& r);
  Result<protocol::LeaseGrantResponse> lease_grant(const protocol::LeaseGrantRequest& r);
  Result<protocol::LeaseRevokeResponse> lease_revoke(const protocol::LeaseRevokeRequest& r);
  Result<protocol::LeaseKeepAliveResponse> lease_keep_alive(
      const protocol::LeaseKeepAliveRequest& r);
  Result<protocol::LeaseTimeToLiveResponse> lease_time_to_live(
      const protocol::LeaseTimeToLiveRequest& r);
  Result<protocol::LeaseLeasesResponse> lease_leases();
  Result<protocol::StatusResponse> status();
  Result<protocol::DefragmentResponse> defragment();
  Result<protocol::HashKVResponse> hash_kv(const protocol::HashKVRequest& r);
  Result<protocol::HashResponse> hash();
  Result<protocol::AlarmResponse> alarm(const protocol::AlarmRequest& r);
  // Streams the chunks to `on_chunk`, then returns the final {size, sha256}.
  Result<protocol::SnapshotResponse> snapshot(const SnapshotChunkHandler& on_chunk);

  // -- Auth.* (etcd's Auth service) --------------------------------------------------------
  // Authenticates (sending no token) and, on success, uses the new token for every later
  // request (set_token); on failure the client has no token.
  Result<protocol::AuthenticateResponse> authenticate(std::string_view name,
                                                      std::string_view password);
  Result<protocol::AuthEmptyResponse> auth_enable();
  Result<protocol::AuthEmptyResponse> auth_disable();
  Result<protocol::AuthStatusResponse> auth_status();
  Result<protocol::AuthEmptyResponse> user_add(const protocol::AuthUserAddRequest& r);
  Result<protocol::AuthRolesResponse> user_get(std::string_view name);
  Result<protocol::AuthUserListResponse> user_list();
  Result<protocol::AuthEmptyResponse> user_delete(std::string_view name);
  Result<protocol::AuthEmptyResponse> user_change_password(std::string_view name,
                                                           std::string_view password);
  Result<protocol::AuthEmptyResponse> user_grant_role(std::string_view user, std::string_view role);
  Result<protocol::AuthEmptyResponse> user_revoke_role(std::string_view user,
                                                       std::string_view role);
  Result<protocol::AuthEmptyResponse> role_add(std::string_view name);
  Result<protocol::AuthRoleGetResponse> role_get(std::string_view role);
  Result<protocol::AuthRolesResponse> role_list();
  Result<protocol::AuthEmptyResponse> role_delete(std::string_view role);
  Result<protocol::AuthEmptyResponse> role_grant_permission(
      const protocol::AuthRoleGrantPermissionRequest& r);
  Result<protocol::AuthEmptyResponse> role_revoke_permission(
      const protocol::AuthRoleRevokePermissionRequest& r);

  // -- Cluster.* and Maintenance.MoveLeader (etcd's Cluster service) ---------------------------
  // A follower forwards member add/remove/promote to the leader; MoveLeader only the leader
  // takes (docs/CLUSTER.md "Membership"). Changes may take seconds (a promotion waits for the
  // learner to catch up): give the client a request timeout that allows for it.
  Result<protocol::MembersResponse> member_list();
  Result<protocol::MemberAddResponse> member_add(const protocol::MemberAddRequest& r);
  Result<protocol::MembersResponse> member_remove(uint64_t id);
  Result<protocol::MembersResponse> member_update(const protocol::MemberUpdateRequest& r);
  Result<protocol::MembersResponse> member_promote(uint64_t id);
  Result<protocol::MoveLeaderResponse> move_leader(uint64_t target_id);

 private:
  Result<Ok> read_some();
  // Polls the socket: true when it is readable, false when `timeout` passed (0: forever).
  Result<bool> wait_readable(std::chrono::milliseconds timeout);
  // One recv() into the decoder, then drain().
  Result<Ok> receive();
  Result<Ok> fail(protocol::WireError error);
  // Decodes every complete frame buffered: notifications go to the handler, responses to
  // ready_.
  Result<Ok> drain();
  template <class Resp, class Req>
  Result<Resp> typed_call(protocol::Method method, const Req& request);
  template <class Resp, class Req>
  Result<Resp> auth_call(protocol::AuthMethod method, const Req& request);
  template <class Resp, class Req>
  Result<Resp> cluster_call(protocol::ClusterMethod method, const Req& request);

  // Declared before fd_, so destroyed after it: the relay sees the client's end close.
  std::unique_ptr<tls::ClientTunnel> tunnel_;
  UniqueFd fd_;
  ClientOptions options_;
  std::unique_ptr<ResponseDecoder> decoder_;  // unpacker is not movable: keep it on the heap
  std::string out_;
  uint32_t next_msgid_ = 1;
  std::unordered_map<uint32_t, Response> ready_;
  std::deque<uint32_t> arrival_;  // msgids of ready_ in arrival order (may hold taken ones)
  NotificationHandler handler_;
  std::optional<protocol::WireError> broken_;
  std::optional<std::string> token_;
  bool forwarded_ = false;
};

// A Watch.Watch notification's body.
Result<protocol::WatchResponse> decode_watch_notification(const Notification& n);

}  // namespace revkv::client
