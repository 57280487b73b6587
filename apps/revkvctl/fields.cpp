#include "apps/revkvctl/fields.hpp"

#include "apps/revkvctl/go_text.hpp"

namespace revkv::ctl {
namespace {

std::string field(const char* name, const std::string& value) {
  return std::string("\"") + name + "\" : " + value + "\n";
}
template <class Number>
std::string number(const char* name, Number value) {
  return field(name, std::to_string(value));
}
std::string boolean(const char* name, bool value) {
  return field(name, value ? "true" : "false");
}

std::string kv(const std::string& prefix, const storage::KeyValue& kv) {
  auto name = [&](const char* n) { return prefix + n; };
  return field(name("Key").c_str(), go_quote(kv.key)) +
         number(name("CreateRevision").c_str(), kv.create_revision) +
         number(name("ModRevision").c_str(), kv.mod_revision) +
         number(name("Version").c_str(), kv.version) +
         field(name("Value").c_str(), go_quote(kv.value)) + number(name("Lease").c_str(), kv.lease);
}

// The header of a response inside a txn: etcd fills in only the revision.
protocol::ResponseHeader with_revision(const protocol::ResponseHeader&, int64_t revision) {
  protocol::ResponseHeader h;
  h.revision = revision;
  return h;
}

}  // namespace

std::string fields_header(const protocol::ResponseHeader& h) {
  return number("ClusterID", h.cluster_id) + number("MemberID", h.member_id) +
         number("Revision", h.revision) + number("RaftTerm", h.raft_term);
}

std::string fields_put(const protocol::ResponseHeader& h, const storage::PutResponse& r) {
  std::string out = fields_header(h);
  if (r.prev_kv) out += kv("Prev", *r.prev_kv);
  return out;
}

std::string fields_get(const protocol::ResponseHeader& h, const storage::RangeResponse& r) {
  std::string out = fields_header(h);
  for (const auto& k : r.kvs)
    out += kv("", k);
  return out + boolean("More", r.more) + number("Count", r.count);
}

std::string fields_del(const protocol::ResponseHeader& h, const storage::DeleteRangeResponse& r) {
  std::string out = fields_header(h) + number("Deleted", r.deleted);
  for (const auto& k : r.prev_kvs)
    out += kv("Prev", k);
  return out;
}

std::string fields_txn(const protocol::ResponseHeader& h, const storage::TxnResponse& r) {
  std::string out = fields_header(h) + boolean("Succeeded", r.succeeded);
  for (const auto& op : r.responses) {
    std::visit(
        [&](const auto& v) {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, storage::RangeResponse>)
            out += fields_get(with_revision(h, v.revision), v);
          else if constexpr (std::is_same_v<T, storage::PutResponse>)
            out += fields_put(with_revision(h, v.revision), v);
          else if constexpr (std::is_same_v<T, storage::DeleteRangeResponse>)
            out += fields_del(with_revision(h, v.revision), v);
          else  // etcdctl 3.4 prints Go's %+v of a nested txn; revkvctl its fields
            out += fields_txn(with_revision(h, v->revision), *v);
        },
        op.op);
  }
  return out;
}

std::string fields_watch(const protocol::WatchResponse& r) {
  std::string out = fields_header(r.header);
  for (const auto& e : r.events) {
    out += field("Type", e.type == storage::Event::Type::put ? "PUT" : "DELETE");
    if (e.prev_kv) out += kv("Prev", *e.prev_kv);
    out += kv("", e.kv);
  }
  return out;
}

std::string fields_lease(const protocol::ResponseHeader& h, int64_t id, int64_t ttl) {
  return fields_header(h) + number("ID", id) + number("TTL", ttl);
}

std::string fields_time_to_live(const protocol::LeaseTimeToLiveResponse& r) {
  std::string out = fields_lease(r.header, r.id, r.ttl) + number("GrantedTTL", r.granted_ttl);
  for (const auto& k : r.keys)
    out += field("Key", go_quote(k));
  return out;
}

std::string fields_leases(const protocol::LeaseLeasesResponse& r) {
  std::string out = fields_header(r.header);
  for (const auto& l : r.leases)
    out += number("ID", l.id);
  return out;
}

std::string fields_alarms(const protocol::AlarmResponse& r) {
  std::string out = fields_header(r.header);
  for (const auto& a : r.alarms) {
    const char* name = a.alarm == protocol::AlarmType::nospace   ? "NOSPACE"
                       : a.alarm == protocol::AlarmType::corrupt ? "CORRUPT"
                                                                 : "NONE";
    out += number("MemberID", a.member_id) + field("AlarmType", name) + "\n";
  }
  return out;
}

}  // namespace revkv::ctl
