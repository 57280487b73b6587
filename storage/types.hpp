#pragma once

// The request and response vocabulary of the engine. The shapes and field names follow
// etcd v3's rpc.proto / kv.proto so that the protocol layer maps them one to one.

#include "storage/box.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace revkv::storage {

struct KeyValue {
  std::string key;
  int64_t create_revision = 0;
  int64_t mod_revision = 0;
  int64_t version = 0;
  std::string value;
  int64_t lease = 0;

  friend bool operator==(const KeyValue&, const KeyValue&) = default;
};

struct Event {
  enum class Type : uint8_t { put = 0, del = 1 };
  Type type = Type::put;
  KeyValue kv;                      // for a DELETE: only key and mod_revision are set
  std::optional<KeyValue> prev_kv;  // filled only when asked for

  friend bool operator==(const Event&, const Event&) = default;
};

// Numeric values are etcd's proto enum values; requests carry them as raw integers so
// that out-of-range values can be rejected with etcd's error instead of being unrepresentable.
enum class SortOrder : int32_t { none = 0, ascend = 1, descend = 2 };
enum class SortTarget : int32_t { key = 0, version = 1, create = 2, mod = 3, value = 4 };

struct RangeRequest {
  std::string key;
  std::optional<std::string> range_end;  // absent/empty: only key; "\0": every key >= key
  int64_t limit = 0;
  int64_t revision = 0;
  int32_t sort_order = 0;
  int32_t sort_target = 0;
  bool serializable = false;
  bool keys_only = false;
  bool count_only = false;
  int64_t min_mod_revision = 0;
  int64_t max_mod_revision = 0;
  int64_t min_create_revision = 0;
  int64_t max_create_revision = 0;

  friend bool operator==(const RangeRequest&, const RangeRequest&) = default;
};

struct RangeResponse {
  int64_t revision = 0;  // header revision
  std::vector<KeyValue> kvs;
  bool more = false;
  int64_t count = 0;

  friend bool operator==(const RangeResponse&, const RangeResponse&) = default;
};

struct PutRequest {
  std::string key;
  std::string value;
  int64_t lease = 0;
  bool prev_kv = false;
  bool ignore_value = false;
  bool ignore_lease = false;

  friend bool operator==(const PutRequest&, const PutRequest&) = default;
};

struct PutResponse {
  int64_t revision = 0;
  std::optional<KeyValue> prev_kv;

  friend bool operator==(const PutResponse&, const PutResponse&) = default;
};

struct DeleteRangeRequest {
  std::string key;
  std::optional<std::string> range_end;
  bool prev_kv = false;

  friend bool operator==(const DeleteRangeRequest&, const DeleteRangeRequest&) = default;
};

struct DeleteRangeResponse {
  int64_t revision = 0;
  int64_t deleted = 0;
  std::vector<KeyValue> prev_kvs;

  friend bool operator==(const DeleteRangeResponse&, const DeleteRangeResponse&) = default;
};

enum class CompareResult : int32_t { equal = 0, greater = 1, less = 2, not_equal = 3 };
enum class CompareTarget : int32_t { version = 0, create = 1, mod = 2, value = 3, lease = 4 };

struct Compare {
  // CompareResult, kept raw: an unknown value travels from the wire to the evaluation and
  // makes the compare true (SPEC §3.6.3; etcd's compare switch has no default).
  int32_t result = 0;
  int32_t target = 0;  // CompareTarget; an unknown value is refused (invalid argument)
  std::string key;
  std::optional<std::string> range_end;
  // Which member of etcd's target_union was set. A union member of the wrong kind for
  // `target` (or none) compares as the zero value, as etcd does.
  std::optional<CompareTarget> union_kind;
  int64_t number = 0;  // version / create_revision / mod_revision / lease
  std::string value;   // value

  friend bool operator==(const Compare&, const Compare&) = default;
};

struct TxnRequest;
struct TxnResponse;

struct RequestOp {
  // monostate: no operation set (etcd answers "key not found" for it).
  std::variant<std::monostate, RangeRequest, PutRequest, DeleteRangeRequest, Box<TxnRequest>> op;

  friend bool operator==(const RequestOp&, const RequestOp&) = default;
};

struct TxnRequest {
  std::vector<Compare> compare;
  std::vector<RequestOp> success;
  std::vector<RequestOp> failure;

  friend bool operator==(const TxnRequest&, const TxnRequest&) = default;
};

struct ResponseOp {
  std::variant<RangeResponse, PutResponse, DeleteRangeResponse, Box<TxnResponse>> op;

  friend bool operator==(const ResponseOp&, const ResponseOp&) = default;
};

struct TxnResponse {
  int64_t revision = 0;  // 0 for a nested txn (etcd quirk)
  bool succeeded = false;
  std::vector<ResponseOp> responses;

  friend bool operator==(const TxnResponse&, const TxnResponse&) = default;
};

struct CompactResponse {
  int64_t revision = 0;
  friend bool operator==(const CompactResponse&, const CompactResponse&) = default;
};

struct HashKVResponse {
  int64_t revision = 0;  // header revision
  uint32_t hash = 0;
  int64_t compact_revision = -1;
  int64_t hash_revision = 0;
  friend bool operator==(const HashKVResponse&, const HashKVResponse&) = default;
};

struct LeaseGrantResponse {
  int64_t revision = 0;
  int64_t id = 0;
  int64_t ttl = 0;
  friend bool operator==(const LeaseGrantResponse&, const LeaseGrantResponse&) = default;
};

struct LeaseRevokeResponse {
  int64_t revision = 0;
  friend bool operator==(const LeaseRevokeResponse&, const LeaseRevokeResponse&) = default;
};

// A lease as the engine persists it (etcd's leasepb.Lease).
struct LeaseRecord {
  int64_t id = 0;
  int64_t ttl = 0;
  int64_t remaining_ttl = 0;  // 0 = no checkpoint
  friend bool operator==(const LeaseRecord&, const LeaseRecord&) = default;
};

// The set of keys a range request names (etcd's key/range_end convention).
struct KeyRange {
  std::string start;
  std::optional<std::string> end;  // nullopt: the single key `start`; "": unbounded above

  static KeyRange from_request(const std::string& key, const std::optional<std::string>& range_end);
  bool single() const { return !end.has_value(); }
  bool contains(const std::string& k) const;
};

// etcd's client-side helper: the smallest key greater than every key with this prefix,
// or "\0" (every key >= prefix) when no such key exists.
std::string prefix_end(std::string prefix);

}  // namespace revkv::storage
