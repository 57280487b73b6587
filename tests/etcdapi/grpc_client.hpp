#pragma once

// A test's gRPC client of revkvd's etcd API, in the engine's and the protocol's types so
// that its answers compare with the MessagePack client's: each call returns the converted
// response or the status as {code, message}. The last response as the door wrote it
// (headers included) is kept for the checks only the protobuf shows. Used by the
// randomized two-door test and by the scenarios over gRPC.

#include "etcdapi/convert.hpp"
#include "protocol/error.hpp"
#include "protocol/messages.hpp"
#include "storage/types.hpp"

#include <chrono>
#include <etcdserverpb/rpc.grpc.pb.h>
#include <grpcpp/grpcpp.h>
#include <memory>
#include <string>
#include <variant>

namespace revkv::testing {

// The same type as two_doors.hpp's Outcome: the response, or the error.
template <class T>
using GrpcResult = std::variant<T, protocol::WireError>;

class GrpcClient {
 public:
  explicit GrpcClient(const std::string& endpoint)
      : channel_(grpc::CreateChannel(endpoint, grpc::InsecureChannelCredentials())),
        kv_(etcdserverpb::KV::NewStub(channel_)),
        lease_(etcdserverpb::Lease::NewStub(channel_)),
        maintenance_(etcdserverpb::Maintenance::NewStub(channel_)) {}

  // -- KV: engine structs.
  GrpcResult<storage::RangeResponse> range(const storage::RangeRequest& r) {
    etcdserverpb::RangeRequest req;
    etcdapi::to_proto(r, req);
    etcdserverpb::RangeResponse resp;
    return kv_call(&etcdserverpb::KV::Stub::Range, req, resp);
  }
  GrpcResult<storage::PutResponse> put(const storage::PutRequest& r) {
    etcdserverpb::PutRequest req;
    etcdapi::to_proto(r, req);
    etcdserverpb::PutResponse resp;
    return kv_call(&etcdserverpb::KV::Stub::Put, req, resp);
  }
  GrpcResult<storage::DeleteRangeResponse> delete_range(const storage::DeleteRangeRequest& r) {
    etcdserverpb::DeleteRangeRequest req;
    etcdapi::to_proto(r, req);
    etcdserverpb::DeleteRangeResponse resp;
    return kv_call(&etcdserverpb::KV::Stub::DeleteRange, req, resp);
  }
  GrpcResult<storage::TxnResponse> txn(const storage::TxnRequest& r) {
    etcdserverpb::TxnRequest req;
    etcdapi::to_proto(r, req);
    return kv_call(&etcdserverpb::KV::Stub::Txn, req, last_txn_);
  }
  GrpcResult<storage::CompactResponse> compact(int64_t revision, bool physical) {
    etcdserverpb::CompactionRequest req;
    req.set_revision(revision);
    req.set_physical(physical);
    etcdserverpb::CompactionResponse resp;
    auto status = kv_->Compact(context().get(), req, &resp);
    if (!status.ok()) return error_of(status);
    last_header_ = resp.header();
    return storage::CompactResponse{resp.header().revision()};
  }

  // -- Lease and Maintenance: protocol structs, header included.
  GrpcResult<protocol::LeaseGrantResponse> lease_grant(int64_t id, int64_t ttl) {
    etcdserverpb::LeaseGrantRequest req;
    req.set_id(id);
    req.set_ttl(ttl);
    etcdserverpb::LeaseGrantResponse resp;
    return call(lease_, &etcdserverpb::Lease::Stub::LeaseGrant, req, resp);
  }
  GrpcResult<protocol::LeaseRevokeResponse> lease_revoke(int64_t id) {
    etcdserverpb::LeaseRevokeRequest req;
    req.set_id(id);
    etcdserverpb::LeaseRevokeResponse resp;
    return call(lease_, &etcdserverpb::Lease::Stub::LeaseRevoke, req, resp);
  }
  GrpcResult<protocol::LeaseTimeToLiveResponse> lease_time_to_live(int64_t id, bool keys) {
    etcdserverpb::LeaseTimeToLiveRequest req;
    req.set_id(id);
    req.set_keys(keys);
    etcdserverpb::LeaseTimeToLiveResponse resp;
    return call(lease_, &etcdserverpb::Lease::Stub::LeaseTimeToLive, req, resp);
  }
  GrpcResult<protocol::LeaseLeasesResponse> lease_leases() {
    etcdserverpb::LeaseLeasesRequest req;
    etcdserverpb::LeaseLeasesResponse resp;
    return call(lease_, &etcdserverpb::Lease::Stub::LeaseLeases, req, resp);
  }
  GrpcResult<protocol::HashKVResponse> hash_kv(int64_t revision) {
    etcdserverpb::HashKVRequest req;
    req.set_revision(revision);
    etcdserverpb::HashKVResponse resp;
    return call(maintenance_, &etcdserverpb::Maintenance::Stub::HashKV, req, resp);
  }
  GrpcResult<protocol::StatusResponse> status() {
    etcdserverpb::StatusRequest req;
    etcdserverpb::StatusResponse resp;
    return call(maintenance_, &etcdserverpb::Maintenance::Stub::Status, req, resp);
  }

  // The header of the last successful call, as written.
  const etcdserverpb::ResponseHeader& last_header() const { return last_header_; }
  // The last successful Txn response, as written.
  const etcdserverpb::TxnResponse& last_txn() const { return last_txn_; }

 private:
  static std::unique_ptr<grpc::ClientContext> context() {
    auto ctx = std::make_unique<grpc::ClientContext>();
    ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    return ctx;
  }
  static protocol::WireError error_of(const grpc::Status& s) {
    return protocol::WireError{static_cast<int64_t>(s.error_code()), s.error_message()};
  }

  template <class Method, class Req, class Resp>
  auto kv_call(Method method, const Req& req, Resp& resp)
      -> GrpcResult<decltype(etcdapi::from_proto(resp))> {
    return call(kv_, method, req, resp);
  }

  template <class Stub, class Method, class Req, class Resp>
  auto call(Stub& stub, Method method, const Req& req, Resp& resp)
      -> GrpcResult<decltype(etcdapi::from_proto(resp))> {
    resp.Clear();
    auto status = ((*stub).*method)(context().get(), req, &resp);
    if (!status.ok()) return error_of(status);
    last_header_ = resp.header();
    return etcdapi::from_proto(resp);
  }

  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<etcdserverpb::KV::Stub> kv_;
  std::unique_ptr<etcdserverpb::Lease::Stub> lease_;
  std::unique_ptr<etcdserverpb::Maintenance::Stub> maintenance_;
  etcdserverpb::TxnResponse last_txn_;
  etcdserverpb::ResponseHeader last_header_;
};

}  // namespace revkv::testing
