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
void to_proto(const storage::PutResponse& in, const protocol::ResponseHeader& node,
              etcdserverpb::PutResponse& out);
void to_proto(const storage::DeleteRangeResponse& in, const protocol::ResponseHeader& node,
              etcdserverpb::DeleteRangeResponse& out);
void to_proto(const storage::TxnResponse& in, const protocol::ResponseHeader& node,
              etcdserverpb::TxnResponse& out);
void to_proto(const storage::CompactResponse& in, const protocol::ResponseHeader& node,
              etcdserverpb::CompactionResponse& out);

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

// An error answer as a gRPC status: the code is already gRPC's (protocol/error.hpp), the
// message etcd's text byte for byte.
grpc::Status to_status(const protocol::WireError& error);

}  // namespace revkv::etcdapi
