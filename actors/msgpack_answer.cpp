#include "actors/msgpack_answer.hpp"

#include "protocol/frame.hpp"

namespace revkv::actors {

void pack_response(protocol::Packer& packer, const Response& response, const NodeContext& ctx) {
  std::visit(
      [&](const auto& r) {
        using T = std::decay_t<decltype(r)>;
        if constexpr (std::is_same_v<T, NoAnswer>) {
          packer.pack_map(0);
        } else if constexpr (std::is_same_v<T, storage::RangeResponse> ||
                             std::is_same_v<T, storage::PutResponse> ||
                             std::is_same_v<T, storage::DeleteRangeResponse> ||
                             std::is_same_v<T, storage::TxnResponse> ||
                             std::is_same_v<T, storage::CompactResponse>) {
          protocol::encode_kv_response(packer, ctx.header(r.revision), r);
        } else {
          protocol::encode_body(packer, r);
        }
      },
      response);
}

void write_answer(msgpack::sbuffer& out, uint32_t msgid, const Answer& answer,
                  const NodeContext& ctx) {
  const auto* response = std::get_if<Response>(&answer);
  if (!response) return protocol::write_error(out, msgid, wire_error(answer));
  protocol::Packer packer(out);
  packer.pack_array(4);
  packer.pack_uint8(1);
  packer.pack_uint32(msgid);
  packer.pack_nil();
  pack_response(packer, *response, ctx);
}

protocol::Decoded<std::string> answer_body(const Answer& answer, const NodeContext& ctx) {
  const auto* response = std::get_if<Response>(&answer);
  if (!response) return wire_error(answer);
  msgpack::sbuffer buffer;
  protocol::Packer packer(buffer);
  pack_response(packer, *response, ctx);
  return std::string(buffer.data(), buffer.size());
}

namespace {

void notification_header(protocol::Packer& packer, protocol::Method method) {
  auto name = protocol::method_name(method);
  packer.pack_array(3);
  packer.pack_uint8(2);
  packer.pack_str(static_cast<uint32_t>(name.size()));
  packer.pack_str_body(name.data(), static_cast<uint32_t>(name.size()));
  packer.pack_array(1);
}

}  // namespace

void write_watch_notification(msgpack::sbuffer& out, const protocol::WatchResponse& response) {
  protocol::Packer packer(out);
  notification_header(packer, protocol::Method::watch);
  protocol::encode_body(packer, response);
}

void write_snapshot_chunk(msgpack::sbuffer& out, uint32_t msgid, std::string_view blob,
                          uint64_t remaining) {
  protocol::Packer packer(out);
  notification_header(packer, protocol::Method::maintenance_snapshot);
  protocol::encode_body(packer, protocol::SnapshotChunk{msgid, std::string(blob), remaining});
}

}  // namespace revkv::actors
