// etcd's Maintenance messages <-> protocol/messages.hpp (declared in convert.hpp).
#include "etcdapi/convert.hpp"

namespace revkv::etcdapi {

protocol::AlarmRequest from_proto(const etcdserverpb::AlarmRequest& in) {
  // Same numbering as etcd's enums (protocol/messages.hpp); unknown values are passed on
  // for the request path to refuse.
  return {static_cast<protocol::AlarmAction>(in.action()), in.memberid(),
          static_cast<protocol::AlarmType>(in.alarm())};
}
protocol::StatusRequest from_proto(const etcdserverpb::StatusRequest&) {
  return {};
}
protocol::DefragmentRequest from_proto(const etcdserverpb::DefragmentRequest&) {
  return {};
}
protocol::HashRequest from_proto(const etcdserverpb::HashRequest&) {
  return {};
}
void to_proto(const protocol::HashResponse& in, etcdserverpb::HashResponse& out) {
  to_proto(in.header, *out.mutable_header());
  out.set_hash(in.hash);
}
protocol::HashResponse from_proto(const etcdserverpb::HashResponse& in) {
  return {from_proto(in.header()), in.hash()};
}

protocol::HashKVRequest from_proto(const etcdserverpb::HashKVRequest& in) {
  return {in.revision()};
}

void to_proto(const protocol::AlarmResponse& in, etcdserverpb::AlarmResponse& out) {
  to_proto(in.header, *out.mutable_header());
  for (const auto& a : in.alarms) {
    auto* m = out.add_alarms();
    m->set_memberid(a.member_id);
    m->set_alarm(static_cast<etcdserverpb::AlarmType>(a.alarm));
  }
}
void to_proto(const protocol::StatusResponse& in, etcdserverpb::StatusResponse& out) {
  to_proto(in.header, *out.mutable_header());
  out.set_version(in.version);
  out.set_dbsize(in.db_size);
  out.set_dbsizeinuse(in.db_size_in_use);
  out.set_leader(in.leader);
  out.set_raftindex(in.raft_index);
  out.set_raftterm(in.raft_term);
  // No raft log: everything indexed is applied.
  out.set_raftappliedindex(in.raft_index);
  for (const auto& e : in.errors)
    out.add_errors(e);
}
void to_proto(const protocol::DefragmentResponse& in, etcdserverpb::DefragmentResponse& out) {
  to_proto(in.header, *out.mutable_header());
}
void to_proto(const protocol::HashKVResponse& in, etcdserverpb::HashKVResponse& out) {
  to_proto(in.header, *out.mutable_header());
  out.set_hash(in.hash);
  out.set_compact_revision(in.compact_revision);
  out.set_hash_revision(in.hash_revision);
}

protocol::AlarmResponse from_proto(const etcdserverpb::AlarmResponse& in) {
  protocol::AlarmResponse out{from_proto(in.header()), {}};
  for (const auto& a : in.alarms())
    out.alarms.push_back({a.memberid(), static_cast<protocol::AlarmType>(a.alarm())});
  return out;
}
protocol::StatusResponse from_proto(const etcdserverpb::StatusResponse& in) {
  protocol::StatusResponse out;
  out.header = from_proto(in.header());
  out.version = in.version();
  out.db_size = in.dbsize();
  out.db_size_in_use = in.dbsizeinuse();
  out.leader = in.leader();
  out.raft_index = in.raftindex();
  out.raft_term = in.raftterm();
  out.errors.assign(in.errors().begin(), in.errors().end());
  return out;
}
protocol::DefragmentResponse from_proto(const etcdserverpb::DefragmentResponse& in) {
  return {from_proto(in.header())};
}
protocol::HashKVResponse from_proto(const etcdserverpb::HashKVResponse& in) {
  return {from_proto(in.header()), in.hash(), in.compact_revision(), in.hash_revision()};
}

}  // namespace revkv::etcdapi
