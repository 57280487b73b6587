#pragma once

// The protocol messages that storage/types.hpp does not have: the response header and
// the Watch, Lease, Maintenance and Compaction bodies of docs/PROTOCOL.md. The KV requests
// and responses are the engine's own structs (storage/types.hpp), encoded as they are,
// so the node never converts between two copies of the same message.
//
// Member names are snake_case; the wire names (docs/PROTOCOL.md, partly etcd's mixed case:
// TTL, ID, grantedTTL, dbSize ...) live in codec.cpp.

#include "storage/types.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace revkv::protocol {

struct ResponseHeader {
  uint64_t cluster_id = 0;
  uint64_t member_id = 0;
  int64_t revision = 0;
  uint64_t raft_term = 0;
  friend bool operator==(const ResponseHeader&, const ResponseHeader&) = default;
};

// A KV response as a client reads it: the engine's response keeps only the header's
// revision (in `response.revision`), the other header fields are the node's.
template <class T>
struct KvResponse {
  ResponseHeader header;
  T response;
  friend bool operator==(const KvResponse&, const KvResponse&) = default;
};

// ---- KV.Compact

struct CompactionRequest {
  int64_t revision = 0;
  bool physical = false;
  friend bool operator==(const CompactionRequest&, const CompactionRequest&) = default;
};

// ---- Watch

enum class WatchFilter : int32_t { noput = 0, nodelete = 1 };

struct WatchCreateRequest {
  std::string key;
  std::optional<std::string> range_end;
  int64_t start_revision = 0;
  bool progress_notify = false;
  std::vector<WatchFilter> filters;
  bool prev_kv = false;
  int64_t watch_id = 0;
  bool fragment = false;
  friend bool operator==(const WatchCreateRequest&, const WatchCreateRequest&) = default;
};

struct WatchCancelRequest {
  int64_t watch_id = 0;
  friend bool operator==(const WatchCancelRequest&, const WatchCancelRequest&) = default;
};

struct WatchProgressRequest {
  friend bool operator==(const WatchProgressRequest&, const WatchProgressRequest&) = default;
};

// etcd's WatchRequest oneof; exactly one is set on the wire.
struct WatchRequest {
  std::variant<WatchCreateRequest, WatchCancelRequest, WatchProgressRequest> request;
  friend bool operator==(const WatchRequest&, const WatchRequest&) = default;
};

struct WatchResponse {
  ResponseHeader header;
  int64_t watch_id = 0;
  bool created = false;
  bool canceled = false;
  int64_t compact_revision = 0;
  std::string cancel_reason;
  bool fragment = false;
  std::vector<storage::Event> events;
  friend bool operator==(const WatchResponse&, const WatchResponse&) = default;
};

// ---- Lease

struct LeaseGrantRequest {
  int64_t ttl = 0;  // wire: TTL
  int64_t id = 0;   // wire: ID; 0 = the node picks one
  friend bool operator==(const LeaseGrantRequest&, const LeaseGrantRequest&) = default;
};

struct LeaseGrantResponse {
  ResponseHeader header;
  int64_t id = 0;
  int64_t ttl = 0;
  friend bool operator==(const LeaseGrantResponse&, const LeaseGrantResponse&) = default;
};

struct LeaseRevokeRequest {
  int64_t id = 0;
  friend bool operator==(const LeaseRevokeRequest&, const LeaseRevokeRequest&) = default;
};

struct LeaseRevokeResponse {
  ResponseHeader header;
  friend bool operator==(const LeaseRevokeResponse&, const LeaseRevokeResponse&) = default;
};

struct LeaseKeepAliveRequest {
  int64_t id = 0;
  friend bool operator==(const LeaseKeepAliveRequest&, const LeaseKeepAliveRequest&) = default;
};

struct LeaseKeepAliveResponse {
  ResponseHeader header;
  int64_t id = 0;
  int64_t ttl = 0;  // 0: the lease is gone
  friend bool operator==(const LeaseKeepAliveResponse&, const LeaseKeepAliveResponse&) = default;
};

struct LeaseTimeToLiveRequest {
  int64_t id = 0;
  bool keys = false;
  friend bool operator==(const LeaseTimeToLiveRequest&, const LeaseTimeToLiveRequest&) = default;
};

struct LeaseTimeToLiveResponse {
  ResponseHeader header;
  int64_t id = 0;
  int64_t ttl = 0;  // -1: the lease is gone
  int64_t granted_ttl = 0;
  std::vector<std::string> keys;
  friend bool operator==(const LeaseTimeToLiveResponse&, const LeaseTimeToLiveResponse&) = default;
};

struct LeaseLeasesRequest {
  friend bool operator==(const LeaseLeasesRequest&, const LeaseLeasesRequest&) = default;
};

struct LeaseStatus {
  int64_t id = 0;
  friend bool operator==(const LeaseStatus&, const LeaseStatus&) = default;
};

struct LeaseLeasesResponse {
  ResponseHeader header;
  std::vector<LeaseStatus> leases;
  friend bool operator==(const LeaseLeasesResponse&, const LeaseLeasesResponse&) = default;
};

// ---- Maintenance

struct StatusRequest {
  friend bool operator==(const StatusRequest&, const StatusRequest&) = default;
};

struct StatusResponse {
  ResponseHeader header;
  std::string version;
  int64_t db_size = 0;
  int64_t db_size_in_use = 0;
  uint64_t leader = 0;
  uint64_t raft_index = 0;
  uint64_t raft_term = 0;
  std::vector<std::string> errors;
  int64_t shards = 0;
  int64_t compact_revision = 0;
  friend bool operator==(const StatusResponse&, const StatusResponse&) = default;
};

struct DefragmentRequest {
  friend bool operator==(const DefragmentRequest&, const DefragmentRequest&) = default;
};

struct DefragmentResponse {
  ResponseHeader header;
  friend bool operator==(const DefragmentResponse&, const DefragmentResponse&) = default;
};

struct HashKVRequest {
  int64_t revision = 0;
  friend bool operator==(const HashKVRequest&, const HashKVRequest&) = default;
};

struct HashKVResponse {
  ResponseHeader header;
  uint32_t hash = 0;
  int64_t compact_revision = 0;
  int64_t hash_revision = 0;
  friend bool operator==(const HashKVResponse&, const HashKVResponse&) = default;
};

// Maintenance.Hash: a CRC-32C of the whole backend (every column family's keys and values,
// docs/PROTOCOL.md), for comparing two members' stores byte for byte.
struct HashRequest {
  friend bool operator==(const HashRequest&, const HashRequest&) = default;
};

struct HashResponse {
  ResponseHeader header;
  uint32_t hash = 0;
  friend bool operator==(const HashResponse&, const HashResponse&) = default;
};

struct SnapshotRequest {
  friend bool operator==(const SnapshotRequest&, const SnapshotRequest&) = default;
};

// One chunk, sent as a `Maintenance.Snapshot` notification.
struct SnapshotChunk {
  uint32_t msgid = 0;  // the Snapshot request's msgid
  std::string blob;
  uint64_t remaining_bytes = 0;
  friend bool operator==(const SnapshotChunk&, const SnapshotChunk&) = default;
};

// The Snapshot request's result, after the last chunk.
struct SnapshotResponse {
  ResponseHeader header;
  int64_t size = 0;    // total length of the blobs
  std::string sha256;  // 32-byte digest of the concatenated blobs
  friend bool operator==(const SnapshotResponse&, const SnapshotResponse&) = default;
};

enum class AlarmAction : int32_t { get = 0, activate = 1, deactivate = 2 };
enum class AlarmType : int32_t { none = 0, nospace = 1, corrupt = 2 };

struct AlarmRequest {
  AlarmAction action = AlarmAction::get;
  uint64_t member_id = 0;  // wire: memberID
  AlarmType alarm = AlarmType::none;
  friend bool operator==(const AlarmRequest&, const AlarmRequest&) = default;
};

struct AlarmMember {
  uint64_t member_id = 0;
  AlarmType alarm = AlarmType::none;
  friend bool operator==(const AlarmMember&, const AlarmMember&) = default;
};

struct AlarmResponse {
  ResponseHeader header;
  std::vector<AlarmMember> alarms;
  friend bool operator==(const AlarmResponse&, const AlarmResponse&) = default;
};

}  // namespace revkv::protocol
