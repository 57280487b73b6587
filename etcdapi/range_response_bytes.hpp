#pragma once

// A Range answer as the bytes of etcdserverpb.RangeResponse, written straight from the
// engine's key-values: the gRPC door's Range is a raw method (etcdapi/kv_service.hpp), so a
// page of n key-values is not first built as n protobuf messages, sized, serialized and
// freed. The bytes are what protobuf writes for the same message (field order, proto3's
// omitted defaults; tests/etcdapi/range_response_bytes_test.cpp compares the two).

#include "protocol/messages.hpp"
#include "storage/types.hpp"

#include <grpcpp/support/byte_buffer.h>
#include <string>

namespace revkv::etcdapi {

std::string range_response_bytes(const storage::RangeResponse& in,
                                 const protocol::ResponseHeader& header);

// Hands `bytes` to gRPC as a one-slice message without copying them.
grpc::ByteBuffer to_byte_buffer(std::string bytes);

}  // namespace revkv::etcdapi
