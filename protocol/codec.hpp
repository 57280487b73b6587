#pragma once

// The msgpack form of every message body of docs/PROTOCOL.md.
//
// Decoding is strict where a wrong guess would change a request's meaning and lenient
// where etcd's clients differ: bytes fields take bin or str, enums take their integer or
// their upper-case name, nil is the same as an absent field, unknown fields are ignored.
// A field of the wrong type, an unknown enum value (except the integers of sort options,
// which the engine rejects with etcd's own error, and of Compare.result, which evaluates
// to true as in etcd), a RequestOp with two ops, a Compare with two target values or a
// txn nested deeper than kMaxTxnDepth is a bad request (code 3) naming the field:
// "revkv: bad request: success[0].request_put.key: expected bytes".
//
// Encoding writes maps with the wire field names, bin for bytes, str for text
// (cancel_reason, version, errors, message), bool for flags, integers for enums; an
// absent optional (prev_kv, range_end) is left out.
//
// Supported T for decode_body / encode_body:
//   requests  storage::RangeRequest, PutRequest, DeleteRangeRequest, TxnRequest,
//             CompactionRequest, WatchRequest, LeaseGrantRequest, LeaseRevokeRequest,
//             LeaseKeepAliveRequest, LeaseTimeToLiveRequest, LeaseLeasesRequest,
//             StatusRequest, DefragmentRequest, HashRequest, HashKVRequest, SnapshotRequest,
//             AlarmRequest, the Auth* requests of protocol/auth_messages.hpp, the
//             Member*/MoveLeader requests of protocol/cluster_messages.hpp
//   responses WatchResponse, LeaseGrantResponse, LeaseRevokeResponse, LeaseKeepAliveResponse,
//             LeaseTimeToLiveResponse, LeaseLeasesResponse, StatusResponse,
//             DefragmentResponse, HashResponse, HashKVResponse, SnapshotChunk, SnapshotResponse,
//             AlarmResponse, the Auth* responses of protocol/auth_messages.hpp, the
//             Member*/MoveLeader responses of protocol/cluster_messages.hpp
// and for decode_kv_response / encode_kv_response: storage::RangeResponse, PutResponse,
// DeleteRangeResponse, TxnResponse, CompactResponse. Other types do not link.

#include "protocol/auth_messages.hpp"
#include "protocol/cluster_messages.hpp"
#include "protocol/error.hpp"
#include "protocol/messages.hpp"
#include "storage/types.hpp"

#include <msgpack.hpp>
#include <optional>
#include <string>

namespace revkv::protocol {

using Packer = msgpack::packer<msgpack::sbuffer>;

// request_txn levels allowed inside one KV.Txn (etcd has no limit; an unbounded one
// would let a small frame drive the decoder's recursion).
inline constexpr int kMaxTxnDepth = 64;

// `body` is a MAP, or NIL for an absent body ([] or [nil] params).
template <class T>
Decoded<T> decode_body(const msgpack::object& body);

template <class T>
void encode_body(Packer& packer, const T& value);

// The engine's KV responses carry only the header's revision; `node` supplies the rest
// of the header (its own revision is ignored). Nested txn responses get the same header
// fields with their own revision.
template <class T>
void encode_kv_response(Packer& packer, const ResponseHeader& node, const T& response);

// response.revision == header.revision afterwards.
template <class T>
Decoded<KvResponse<T>> decode_kv_response(const msgpack::object& body);

// The `error` object {code, message} of a response.
void encode_error(Packer& packer, const WireError& error);
// nullopt: not a map with an integer code and a str/bin message.
std::optional<WireError> decode_error(const msgpack::object& error);

// The encoded bytes of one body, e.g. to pass to the frame writers.
template <class T>
std::string encode_to_string(const T& value) {
  msgpack::sbuffer buffer;
  Packer packer(buffer);
  encode_body(packer, value);
  return std::string(buffer.data(), buffer.size());
}

template <class T>
std::string encode_kv_to_string(const ResponseHeader& node, const T& response) {
  msgpack::sbuffer buffer;
  Packer packer(buffer);
  encode_kv_response(packer, node, response);
  return std::string(buffer.data(), buffer.size());
}

}  // namespace revkv::protocol
