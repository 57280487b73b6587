#include "apps/revkvctl/protobuf.hpp"

#include "etcdapi/convert.hpp"

#include <etcdserverpb/rpc.pb.h>

namespace revkv::ctl {
namespace {

std::string bytes(const google::protobuf::MessageLite& m) {
  std::string out;
  m.SerializeToString(&out);
  return out;
}

template <class Proto, class Response>
std::string kv_bytes(const Kv<Response>& r) {
  Proto out;
  etcdapi::to_proto(r.response, r.header, out);
  return bytes(out);
}

}  // namespace

std::string protobuf_put(const Kv<storage::PutResponse>& r) {
  return kv_bytes<etcdserverpb::PutResponse>(r);
}
std::string protobuf_get(const Kv<storage::RangeResponse>& r) {
  return kv_bytes<etcdserverpb::RangeResponse>(r);
}
std::string protobuf_del(const Kv<storage::DeleteRangeResponse>& r) {
  return kv_bytes<etcdserverpb::DeleteRangeResponse>(r);
}
std::string protobuf_txn(const Kv<storage::TxnResponse>& r) {
  return kv_bytes<etcdserverpb::TxnResponse>(r);
}

std::string protobuf_header(const protocol::ResponseHeader& h) {
  etcdserverpb::ResponseHeader out;
  etcdapi::to_proto(h, out);
  return bytes(out);
}

std::string protobuf_alarms(const protocol::AlarmResponse& r) {
  etcdserverpb::AlarmResponse out;
  etcdapi::to_proto(r, out);
  // etcd 3.4 sets no header on Alarm answers (json prints `{}` for the same reason).
  out.clear_header();
  return bytes(out);
}

std::string protobuf_member_list(const MemberList& list) {
  etcdserverpb::MemberListResponse out;
  protocol::ResponseHeader h = list.header;
  h.revision = 0;  // etcd's MemberList header carries no revision
  etcdapi::to_proto(h, *out.mutable_header());
  for (const auto& m : list.members) {
    auto* p = out.add_members();
    p->set_id(m.id);
    p->set_name(m.name);
    for (const auto& u : m.peer_urls)
      p->add_peerurls(u);
    for (const auto& u : m.client_urls)
      p->add_clienturls(u);
    p->set_islearner(m.is_learner);
  }
  return bytes(out);
}

std::string protobuf_watch(const protocol::WatchResponse& r) {
  if (r.events.empty() && !r.canceled) return "";
  etcdserverpb::WatchResponse out;
  etcdapi::to_proto(r, out);
  // etcdctl rebuilds the message from clientv3's WatchResponse, which keeps none of these.
  out.set_watch_id(0);
  out.clear_cancel_reason();
  out.set_fragment(false);
  return bytes(out);
}

std::string revoke_unsupported(const protocol::LeaseRevokeResponse& r) {
  // protobuf's compact text: each set field as `name:value `, zero fields left out.
  std::string text;
  auto field = [&](const char* name, auto value) {
    if (value != 0) text += std::string(name) + ":" + std::to_string(value) + " ";
  };
  field("cluster_id", r.header.cluster_id);
  field("member_id", r.header.member_id);
  field("revision", r.header.revision);
  field("raft_term", r.header.raft_term);
  return "marshal unsupported for type clientv3.LeaseRevokeResponse ({" + text + "})";
}

}  // namespace revkv::ctl
