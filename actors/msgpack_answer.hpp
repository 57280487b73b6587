#pragma once

// The MessagePack-RPC form of the request path's output (docs/PROTOCOL.md): answers as
// response frames, watch responses and snapshot chunks as notifications. Used by the
// MessagePack door and by the actor harness's byte-level calls, so both write the same
// bytes.

#include "actors/node_context.hpp"
#include "actors/request_path.hpp"
#include "protocol/codec.hpp"

#include <msgpack.hpp>
#include <string>
#include <string_view>

namespace revkv::actors {

// The result body of a response (KV responses get the node's header), into `packer`.
void pack_response(protocol::Packer& packer, const Response& response, const NodeContext& ctx);

// [1, msgid, error, result] for one answer.
void write_answer(msgpack::sbuffer& out, uint32_t msgid, const Answer& answer,
                  const NodeContext& ctx);
// The result body alone, or the error a response frame would carry.
protocol::Decoded<std::string> answer_body(const Answer& answer, const NodeContext& ctx);

// [2, "Watch.Watch", [response]]
void write_watch_notification(msgpack::sbuffer& out, const protocol::WatchResponse& response);
// [2, "Maintenance.Snapshot", [{msgid, blob, remaining_bytes}]]
void write_snapshot_chunk(msgpack::sbuffer& out, uint32_t msgid, std::string_view blob,
                          uint64_t remaining);

}  // namespace revkv::actors
