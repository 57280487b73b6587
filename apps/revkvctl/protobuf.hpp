#pragma once

// `-w protobuf`: etcdctl 3.4's protobuf printer writes the marshalled etcdserverpb message
// of a response to stdout, with no delimiter or newline. What it marshals is decided by
// Go's types, not by the command, and that is copied here (docs/REVKVCTL.md):
//   - get/put/del/txn: Range/Put/DeleteRange/TxnResponse; member list:
//     MemberListResponse (no revision in its header, as etcd's); alarm: AlarmResponse
//     (etcd 3.4 answers it without a header); watch: one WatchResponse per response
//     printed, holding only header, events, compact_revision, canceled and created
//     (clientv3's WatchResponse has no watch id or cancel reason to copy back);
//   - lease grant/keep-alive/timetolive/list: clientv3's structs embed *ResponseHeader,
//     whose Marshal is the only one Go finds: the bytes of the header alone;
//   - lease revoke: clientv3.LeaseRevokeResponse has no Marshal at all, so etcdctl fails
//     after the revoke (revoke_unsupported()).
// Built from the etcdapi conversions, so the gRPC door and this printer cannot disagree.

#include "apps/revkvctl/endpoint_output.hpp"
#include "apps/revkvctl/output.hpp"

#include <string>

namespace revkv::ctl {

std::string protobuf_put(const Kv<storage::PutResponse>& r);
std::string protobuf_get(const Kv<storage::RangeResponse>& r);
std::string protobuf_del(const Kv<storage::DeleteRangeResponse>& r);
std::string protobuf_txn(const Kv<storage::TxnResponse>& r);
std::string protobuf_header(const protocol::ResponseHeader& h);
std::string protobuf_alarms(const protocol::AlarmResponse& r);
std::string protobuf_member_list(const MemberList& list);
// "" for a response etcdctl does not print (no events and no cancel), as format_watch.
std::string protobuf_watch(const protocol::WatchResponse& r);

// etcdctl's error for `lease revoke -w protobuf` (exit 4, the lease already revoked):
// Go's `%T (%v)` of the response, the header in protobuf's compact text form.
std::string revoke_unsupported(const protocol::LeaseRevokeResponse& r);

}  // namespace revkv::ctl
