#include "etcdapi/range_response_bytes.hpp"

#include "storage/protobuf_wire.hpp"
#include "storage/record.hpp"

#include <memory>

namespace revkv::etcdapi {

using storage::protobuf_wire::kLengthDelimited;
using storage::protobuf_wire::kVarint;
using storage::protobuf_wire::put_tag;
using storage::protobuf_wire::put_varint;
using storage::protobuf_wire::varint_size;

namespace {

void put_uint64_field(std::string& out, uint32_t field, uint64_t v) {
  if (v == 0) return;
  put_tag(out, field, kVarint);
  put_varint(out, v);
}

// etcdserverpb.ResponseHeader: cluster_id 1, member_id 2, revision 3, raft_term 4.
std::string header_bytes(const protocol::ResponseHeader& h) {
  std::string out;
  put_uint64_field(out, 1, h.cluster_id);
  put_uint64_field(out, 2, h.member_id);
  put_uint64_field(out, 3, static_cast<uint64_t>(h.revision));
  put_uint64_field(out, 4, h.raft_term);
  return out;
}

}  // namespace

std::string range_response_bytes(const storage::RangeResponse& in,
                                 const protocol::ResponseHeader& header) {
  // etcdserverpb.RangeResponse: header 1, kvs 2 (repeated mvccpb.KeyValue), more 3, count 4.
  const std::string head = header_bytes(header);
  size_t size = 1 + varint_size(head.size()) + head.size() + 2 + 11;
  for (const auto& kv : in.kvs) {
    const size_t n = storage::encoded_key_value_size(kv);
    size += 1 + varint_size(n) + n;
  }
  std::string out;
  out.reserve(size);
  // The header is always present (the node sets it, as etcd does), even when all zero.
  put_tag(out, 1, kLengthDelimited);
  put_varint(out, head.size());
  out.append(head);
  for (const auto& kv : in.kvs) {
    put_tag(out, 2, kLengthDelimited);
    put_varint(out, storage::encoded_key_value_size(kv));
    storage::encode_key_value_into(kv, out);
  }
  if (in.more) {
    put_tag(out, 3, kVarint);
    put_varint(out, 1);
  }
  put_uint64_field(out, 4, static_cast<uint64_t>(in.count));
  return out;
}

grpc::ByteBuffer to_byte_buffer(std::string bytes) {
  // gRPC frees the slice's memory with the callback, once it has sent the message.
  auto owned = std::make_unique<std::string>(std::move(bytes));
  grpc::Slice slice(
      owned->data(), owned->size(),
      [](void* s) { std::unique_ptr<std::string> sent(static_cast<std::string*>(s)); },
      owned.get());
  owned.release();  // now the slice's
  return grpc::ByteBuffer(&slice, 1);
}

}  // namespace revkv::etcdapi
