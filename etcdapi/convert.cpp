#include "etcdapi/convert.hpp"

#include <type_traits>
#include <utility>

namespace revkv::etcdapi {
// Helpers: static in this namespace (not an anonymous one) so that they overload with the
// declarations of convert.hpp instead of hiding them.

static std::optional<std::string> range_end_of(const std::string& bytes) {
  if (bytes.empty()) return std::nullopt;
  return bytes;
}

static void set_header(etcdserverpb::ResponseHeader& out, const protocol::ResponseHeader& h) {
  to_proto(h, out);
}

// What etcd puts in the header of a response nested in a Txn: the revision only.
static protocol::ResponseHeader nested(int64_t revision) {
  return {0, 0, revision, 0};
}

void to_proto(const storage::KeyValue& in, mvccpb::KeyValue& out) {
  out.set_key(in.key);
  out.set_create_revision(in.create_revision);
  out.set_mod_revision(in.mod_revision);
  out.set_version(in.version);
  out.set_value(in.value);
  out.set_lease(in.lease);
}

void to_proto(storage::KeyValue&& in, mvccpb::KeyValue& out) {
  out.set_key(std::move(in.key));
  out.set_create_revision(in.create_revision);
  out.set_mod_revision(in.mod_revision);
  out.set_version(in.version);
  out.set_value(std::move(in.value));
  out.set_lease(in.lease);
}

static storage::RequestOp from_proto(const etcdserverpb::RequestOp& in) {
  storage::RequestOp out;
  switch (in.request_case()) {
    case etcdserverpb::RequestOp::kRequestRange:
      out.op = from_proto(in.request_range());
      break;
    case etcdserverpb::RequestOp::kRequestPut:
      out.op = from_proto(in.request_put());
      break;
    case etcdserverpb::RequestOp::kRequestDeleteRange:
      out.op = from_proto(in.request_delete_range());
      break;
    case etcdserverpb::RequestOp::kRequestTxn:
      out.op = storage::Box<storage::TxnRequest>(from_proto(in.request_txn()));
      break;
    case etcdserverpb::RequestOp::REQUEST_NOT_SET:
      break;  // monostate: the path refuses it as etcd does
  }
  return out;
}

static storage::Compare from_proto(const etcdserverpb::Compare& in) {
  storage::Compare out;
  out.result = static_cast<int32_t>(in.result());
  out.target = static_cast<int32_t>(in.target());
  out.key = in.key();
  out.range_end = range_end_of(in.range_end());
  switch (in.target_union_case()) {
    case etcdserverpb::Compare::kVersion:
      out.union_kind = storage::CompareTarget::version;
      out.number = in.version();
      break;
    case etcdserverpb::Compare::kCreateRevision:
      out.union_kind = storage::CompareTarget::create;
      out.number = in.create_revision();
      break;
    case etcdserverpb::Compare::kModRevision:
      out.union_kind = storage::CompareTarget::mod;
      out.number = in.mod_revision();
      break;
    case etcdserverpb::Compare::kValue:
      out.union_kind = storage::CompareTarget::value;
      out.value = in.value();
      break;
    case etcdserverpb::Compare::kLease:
      out.union_kind = storage::CompareTarget::lease;
      out.number = in.lease();
      break;
    case etcdserverpb::Compare::TARGET_UNION_NOT_SET:
      break;
  }
  return out;
}

static void to_proto(const storage::Compare& in, etcdserverpb::Compare& out) {
  out.set_result(static_cast<etcdserverpb::Compare::CompareResult>(in.result));
  out.set_target(static_cast<etcdserverpb::Compare::CompareTarget>(in.target));
  out.set_key(in.key);
  if (in.range_end) out.set_range_end(*in.range_end);
  if (!in.union_kind) return;
  switch (*in.union_kind) {
    case storage::CompareTarget::version:
      out.set_version(in.number);
      break;
    case storage::CompareTarget::create:
      out.set_create_revision(in.number);
      break;
    case storage::CompareTarget::mod:
      out.set_mod_revision(in.number);
      break;
    case storage::CompareTarget::value:
      out.set_value(in.value);
      break;
    case storage::CompareTarget::lease:
      out.set_lease(in.number);
      break;
  }
}

static void to_proto(const storage::RequestOp& in, etcdserverpb::RequestOp& out) {
  std::visit(
      [&](const auto& op) {
        using T = std::decay_t<decltype(op)>;
        if constexpr (std::is_same_v<T, storage::RangeRequest>) {
          to_proto(op, *out.mutable_request_range());
        } else if constexpr (std::is_same_v<T, storage::PutRequest>) {
          to_proto(op, *out.mutable_request_put());
        } else if constexpr (std::is_same_v<T, storage::DeleteRangeRequest>) {
          to_proto(op, *out.mutable_request_delete_range());
        } else if constexpr (std::is_same_v<T, storage::Box<storage::TxnRequest>>) {
          to_proto(*op, *out.mutable_request_txn());
        }
      },
      in.op);
}

static storage::ResponseOp from_proto(const etcdserverpb::ResponseOp& in) {
  storage::ResponseOp out;
  switch (in.response_case()) {
    case etcdserverpb::ResponseOp::kResponsePut:
      out.op = from_proto(in.response_put());
      break;
    case etcdserverpb::ResponseOp::kResponseDeleteRange:
      out.op = from_proto(in.response_delete_range());
      break;
    case etcdserverpb::ResponseOp::kResponseTxn:
      out.op = storage::Box<storage::TxnResponse>(from_proto(in.response_txn()));
      break;
    case etcdserverpb::ResponseOp::kResponseRange:
    case etcdserverpb::ResponseOp::RESPONSE_NOT_SET:
      out.op = from_proto(in.response_range());
      break;
  }
  return out;
}

// ---- requests, protobuf -> engine

storage::RangeRequest from_proto(const etcdserverpb::RangeRequest& in) {
  storage::RangeRequest out;
  out.key = in.key();
  out.range_end = range_end_of(in.range_end());
  out.limit = in.limit();
  out.revision = in.revision();
  out.sort_order = static_cast<int32_t>(in.sort_order());
  out.sort_target = static_cast<int32_t>(in.sort_target());
  out.serializable = in.serializable();
  out.keys_only = in.keys_only();
  out.count_only = in.count_only();
  out.min_mod_revision = in.min_mod_revision();
  out.max_mod_revision = in.max_mod_revision();
  out.min_create_revision = in.min_create_revision();
  out.max_create_revision = in.max_create_revision();
  return out;
}

storage::PutRequest from_proto(const etcdserverpb::PutRequest& in) {
  return storage::PutRequest{in.key(),     in.value(),        in.lease(),
                             in.prev_kv(), in.ignore_value(), in.ignore_lease()};
}

storage::DeleteRangeRequest from_proto(const etcdserverpb::DeleteRangeRequest& in) {
  return storage::DeleteRangeRequest{in.key(), range_end_of(in.range_end()), in.prev_kv()};
}

storage::TxnRequest from_proto(const etcdserverpb::TxnRequest& in) {
  storage::TxnRequest out;
  out.compare.reserve(static_cast<size_t>(in.compare_size()));
  for (const auto& c : in.compare())
    out.compare.push_back(from_proto(c));
  for (const auto& op : in.success())
    out.success.push_back(from_proto(op));
  for (const auto& op : in.failure())
    out.failure.push_back(from_proto(op));
  return out;
}

protocol::CompactionRequest from_proto(const etcdserverpb::CompactionRequest& in) {
  return protocol::CompactionRequest{in.revision(), in.physical()};
}

// ---- responses, engine -> protobuf

void to_proto(const storage::RangeResponse& in, const protocol::ResponseHeader& node,
              etcdserverpb::RangeResponse& out) {
  set_header(*out.mutable_header(), node);
  out.mutable_kvs()->Reserve(static_cast<int>(in.kvs.size()));
  for (const auto& kv : in.kvs)
    to_proto(kv, *out.add_kvs());
  out.set_more(in.more);
  out.set_count(in.count);
}

void to_proto(storage::RangeResponse&& in, const protocol::ResponseHeader& node,
              etcdserverpb::RangeResponse& out) {
  set_header(*out.mutable_header(), node);
  out.mutable_kvs()->Reserve(static_cast<int>(in.kvs.size()));
  for (auto& kv : in.kvs)
    to_proto(std::move(kv), *out.add_kvs());
  out.set_more(in.more);
  out.set_count(in.count);
}

void to_proto(const storage::PutResponse& in, const protocol::ResponseHeader& node,
              etcdserverpb::PutResponse& out) {
  set_header(*out.mutable_header(), node);
  if (in.prev_kv) to_proto(*in.prev_kv, *out.mutable_prev_kv());
}

void to_proto(const storage::DeleteRangeResponse& in, const protocol::ResponseHeader& node,
              etcdserverpb::DeleteRangeResponse& out) {
  set_header(*out.mutable_header(), node);
  out.set_deleted(in.deleted);
  for (const auto& kv : in.prev_kvs)
    to_proto(kv, *out.add_prev_kvs());
}

void to_proto(const storage::TxnResponse& in, const protocol::ResponseHeader& node,
              etcdserverpb::TxnResponse& out) {
  set_header(*out.mutable_header(), node);
  out.set_succeeded(in.succeeded);
  for (const auto& r : in.responses) {
    auto& op = *out.add_responses();
    std::visit(
        [&](const auto& sub) {
          using T = std::decay_t<decltype(sub)>;
          if constexpr (std::is_same_v<T, storage::RangeResponse>) {
            to_proto(sub, nested(sub.revision), *op.mutable_response_range());
          } else if constexpr (std::is_same_v<T, storage::PutResponse>) {
            to_proto(sub, nested(sub.revision), *op.mutable_response_put());
          } else if constexpr (std::is_same_v<T, storage::DeleteRangeResponse>) {
            to_proto(sub, nested(sub.revision), *op.mutable_response_delete_range());
          } else {
            to_proto(*sub, nested(sub->revision), *op.mutable_response_txn());
          }
        },
        r.op);
  }
}

void to_proto(const storage::CompactResponse&, const protocol::ResponseHeader& node,
              etcdserverpb::CompactionResponse& out) {
  set_header(*out.mutable_header(), node);
}

// ---- the reverse directions

storage::KeyValue from_proto(const mvccpb::KeyValue& in) {
  return storage::KeyValue{in.key(),     in.create_revision(), in.mod_revision(),
                           in.version(), in.value(),           in.lease()};
}

storage::RangeResponse from_proto(const etcdserverpb::RangeResponse& in) {
  storage::RangeResponse out;
  out.revision = in.header().revision();
  for (const auto& kv : in.kvs())
    out.kvs.push_back(from_proto(kv));
  out.more = in.more();
  out.count = in.count();
  return out;
}

storage::PutResponse from_proto(const etcdserverpb::PutResponse& in) {
  storage::PutResponse out;
  out.revision = in.header().revision();
  if (in.has_prev_kv()) out.prev_kv = from_proto(in.prev_kv());
  return out;
}

storage::DeleteRangeResponse from_proto(const etcdserverpb::DeleteRangeResponse& in) {
  storage::DeleteRangeResponse out;
  out.revision = in.header().revision();
  out.deleted = in.deleted();
  for (const auto& kv : in.prev_kvs())
    out.prev_kvs.push_back(from_proto(kv));
  return out;
}

storage::TxnResponse from_proto(const etcdserverpb::TxnResponse& in) {
  storage::TxnResponse out;
  out.revision = in.header().revision();
  out.succeeded = in.succeeded();
  for (const auto& r : in.responses())
    out.responses.push_back(from_proto(r));
  return out;
}

void to_proto(const storage::RangeRequest& in, etcdserverpb::RangeRequest& out) {
  out.set_key(in.key);
  if (in.range_end) out.set_range_end(*in.range_end);
  out.set_limit(in.limit);
  out.set_revision(in.revision);
  out.set_sort_order(static_cast<etcdserverpb::RangeRequest::SortOrder>(in.sort_order));
  out.set_sort_target(static_cast<etcdserverpb::RangeRequest::SortTarget>(in.sort_target));
  out.set_serializable(in.serializable);
  out.set_keys_only(in.keys_only);
  out.set_count_only(in.count_only);
  out.set_min_mod_revision(in.min_mod_revision);
  out.set_max_mod_revision(in.max_mod_revision);
  out.set_min_create_revision(in.min_create_revision);
  out.set_max_create_revision(in.max_create_revision);
}

void to_proto(const storage::PutRequest& in, etcdserverpb::PutRequest& out) {
  out.set_key(in.key);
  out.set_value(in.value);
  out.set_lease(in.lease);
  out.set_prev_kv(in.prev_kv);
  out.set_ignore_value(in.ignore_value);
  out.set_ignore_lease(in.ignore_lease);
}

void to_proto(const storage::DeleteRangeRequest& in, etcdserverpb::DeleteRangeRequest& out) {
  out.set_key(in.key);
  if (in.range_end) out.set_range_end(*in.range_end);
  out.set_prev_kv(in.prev_kv);
}

void to_proto(const storage::TxnRequest& in, etcdserverpb::TxnRequest& out) {
  for (const auto& c : in.compare)
    to_proto(c, *out.add_compare());
  for (const auto& op : in.success)
    to_proto(op, *out.add_success());
  for (const auto& op : in.failure)
    to_proto(op, *out.add_failure());
}

void to_proto(const protocol::ResponseHeader& in, etcdserverpb::ResponseHeader& out) {
  out.set_cluster_id(in.cluster_id);
  out.set_member_id(in.member_id);
  out.set_revision(in.revision);
  out.set_raft_term(in.raft_term);
}

protocol::ResponseHeader from_proto(const etcdserverpb::ResponseHeader& in) {
  return {in.cluster_id(), in.member_id(), in.revision(), in.raft_term()};
}

grpc::Status to_status(const protocol::WireError& error) {
  // gRPC's codes are 0..16; anything else would be a bug upstream: report it as Unknown
  // rather than send a code clients cannot map.
  auto code = error.code >= 0 && error.code <= 16 ? static_cast<grpc::StatusCode>(error.code)
                                                  : grpc::StatusCode::UNKNOWN;
  return grpc::Status(code, error.message);
}

grpc::Status wrong_answer_type() {
  return grpc::Status(grpc::StatusCode::INTERNAL, "revkv: answer of the wrong type");
}

}  // namespace revkv::etcdapi
