#pragma once

// Conversions between etcd's protobuf messages (proto/) and the engine's structs
// (storage/types.hpp, protocol/messages.hpp). Nothing else: validation, routing and the
// rest of a request's life belong to the request path (actors/request_path.hpp), shared
// with the MessagePack door.
//
// proto3 cannot tell an absent bytes field from an empty one; etcd treats an empty
// range_end as "only key", so empty maps to nullopt and back.

#include "protocol/error.hpp"
#include "protocol/messages.hpp"
#include "storage/types.hpp"

#include <etcdserverpb/rpc.pb.h>
#include <grpcpp/support/status.h>
#include <optional>

namespace revkv::etcdapi {

// Requests: protobuf -> engine.
storage::RangeRequest from_proto(const etcdserverpb::RangeRequest& in);
storage::PutRequest from_proto(const etcdserverpb::PutRequest& in);
storage::DeleteRangeRequest from_proto(const etcdserverpb::DeleteRangeRequest& in);
storage::TxnRequest from_proto(const etcdserverpb::TxnRequest& in);
protocol::CompactionRequest from_proto(const etcdserverpb::CompactionRequest& in);

// Responses: engine -> protobuf. `node` is the node's header (NodeContext::header) with
// the response's revision; nested Txn responses get a header with only their revision,
// as etcd writes them (clientv3's STM reads it).
void to_proto(const storage::RangeResponse& in, const protocol::ResponseHeader& node,
              etcdserverpb::RangeResponse& out);
// The same, taking each key and value instead of copying it: a range answer is the
// largest a node gives, and the door owns it once it is converted (docs/BENCHMARKS.md,
// issue 13).
void to_proto(storage::RangeResponse&& in, const protocol::ResponseHeader& node,
              etcdserverpb::RangeResponse& out);
void to_proto(const storage::PutResponse& in, const protocol::ResponseHeader& node,
              etcdserverpb::PutResponse& out);
void to_proto(const storage::DeleteRangeResponse& in, const protocol::ResponseHeader& node,
              etcdserverpb::DeleteRangeResponse& out);
void to_proto(const storage::TxnResponse& in, const protocol::ResponseHeader& node,
              etcdserverpb::TxnResponse& out);
void to_proto(const storage::CompactResponse& in, const protocol::ResponseHeader& node,
              etcdserverpb::CompactionResponse& out);

void to_proto(const storage::KeyValue& in, mvccpb::KeyValue& out);
void to_proto(storage::KeyValue&& in, mvccpb::KeyValue& out);

// The reverse directions, for clients and tests (the gRPC client of tests/node).
storage::KeyValue from_proto(const mvccpb::KeyValue& in);
storage::RangeResponse from_proto(const etcdserverpb::RangeResponse& in);
storage::PutResponse from_proto(const etcdserverpb::PutResponse& in);
storage::DeleteRangeResponse from_proto(const etcdserverpb::DeleteRangeResponse& in);
storage::TxnResponse from_proto(const etcdserverpb::TxnResponse& in);
void to_proto(const storage::RangeRequest& in, etcdserverpb::RangeRequest& out);
void to_proto(const storage::PutRequest& in, etcdserverpb::PutRequest& out);
void to_proto(const storage::DeleteRangeRequest& in, etcdserverpb::DeleteRangeRequest& out);
void to_proto(const storage::TxnRequest& in, etcdserverpb::TxnRequest& out);

// The response header, both ways.
void to_proto(const protocol::ResponseHeader& in, etcdserverpb::ResponseHeader& out);
protocol::ResponseHeader from_proto(const etcdserverpb::ResponseHeader& in);

// Lease and Maintenance (convert_lease.cpp, convert_maintenance.cpp): the protocol's
// responses carry their whole header, so no node header is passed. Both directions; the
// reverse ones are for clients and tests. StatusResponse's `shards` and
// `compact_revision` are revkv's own and have no field in etcd's message.
protocol::LeaseGrantRequest from_proto(const etcdserverpb::LeaseGrantRequest& in);
protocol::LeaseRevokeRequest from_proto(const etcdserverpb::LeaseRevokeRequest& in);
protocol::LeaseKeepAliveRequest from_proto(const etcdserverpb::LeaseKeepAliveRequest& in);
protocol::LeaseTimeToLiveRequest from_proto(const etcdserverpb::LeaseTimeToLiveRequest& in);
protocol::LeaseLeasesRequest from_proto(const etcdserverpb::LeaseLeasesRequest& in);
void to_proto(const protocol::LeaseGrantResponse& in, etcdserverpb::LeaseGrantResponse& out);
void to_proto(const protocol::LeaseRevokeResponse& in, etcdserverpb::LeaseRevokeResponse& out);
void to_proto(const protocol::LeaseKeepAliveResponse& in,
              etcdserverpb::LeaseKeepAliveResponse& out);
void to_proto(const protocol::LeaseTimeToLiveResponse& in,
              etcdserverpb::LeaseTimeToLiveResponse& out);
void to_proto(const protocol::LeaseLeasesResponse& in, etcdserverpb::LeaseLeasesResponse& out);
protocol::LeaseGrantResponse from_proto(const etcdserverpb::LeaseGrantResponse& in);
protocol::LeaseRevokeResponse from_proto(const etcdserverpb::LeaseRevokeResponse& in);
protocol::LeaseKeepAliveResponse from_proto(const etcdserverpb::LeaseKeepAliveResponse& in);
protocol::LeaseTimeToLiveResponse from_proto(const etcdserverpb::LeaseTimeToLiveResponse& in);
protocol::LeaseLeasesResponse from_proto(const etcdserverpb::LeaseLeasesResponse& in);

protocol::AlarmRequest from_proto(const etcdserverpb::AlarmRequest& in);
protocol::StatusRequest from_proto(const etcdserverpb::StatusRequest& in);
protocol::DefragmentRequest from_proto(const etcdserverpb::DefragmentRequest& in);
protocol::HashKVRequest from_proto(const etcdserverpb::HashKVRequest& in);
protocol::HashRequest from_proto(const etcdserverpb::HashRequest& in);
void to_proto(const protocol::HashResponse& in, etcdserverpb::HashResponse& out);
protocol::HashResponse from_proto(const etcdserverpb::HashResponse& in);
void to_proto(const protocol::AlarmResponse& in, etcdserverpb::AlarmResponse& out);
void to_proto(const protocol::StatusResponse& in, etcdserverpb::StatusResponse& out);
void to_proto(const protocol::DefragmentResponse& in, etcdserverpb::DefragmentResponse& out);
void to_proto(const protocol::HashKVResponse& in, etcdserverpb::HashKVResponse& out);
protocol::AlarmResponse from_proto(const etcdserverpb::AlarmResponse& in);
protocol::StatusResponse from_proto(const etcdserverpb::StatusResponse& in);
protocol::DefragmentResponse from_proto(const etcdserverpb::DefragmentResponse& in);
protocol::HashKVResponse from_proto(const etcdserverpb::HashKVResponse& in);

// Watch (convert_watch.cpp). A WatchRequest with no member of its oneof set is nothing
// (etcd skips it and keeps the stream). Filter values etcd does not know pass through:
// the watch stream ignores them, as etcd does.
std::optional<protocol::WatchRequest> from_proto(const etcdserverpb::WatchRequest& in);
void to_proto(const protocol::WatchResponse& in, etcdserverpb::WatchResponse& out);
void to_proto(const storage::Event& in, mvccpb::Event& out);
void to_proto(const protocol::WatchRequest& in, etcdserverpb::WatchRequest& out);
protocol::WatchResponse from_proto(const etcdserverpb::WatchResponse& in);
storage::Event from_proto(const mvccpb::Event& in);

// An error answer as a gRPC status: the code is already gRPC's (protocol/error.hpp), the
// message etcd's text byte for byte.
grpc::Status to_status(const protocol::WireError& error);
// The status of a call whose answer is not the response its method expects (a bug upstream).
grpc::Status wrong_answer_type();

}  // namespace revkv::etcdapi
