#include "apps/revkvctl/output.hpp"

#include "apps/revkvctl/fields.hpp"
#include "apps/revkvctl/json.hpp"
#include "apps/revkvctl/protobuf.hpp"

#include <cmath>
#include <cstdio>

namespace revkv::ctl {
namespace {

using storage::KeyValue;
using util::json::Json;

// Go's `omitempty`: zero numbers, empty bytes and false are left out.
template <class Number>
void set_nonzero(Json& o, const char* key, Number value) {
  if (value != 0) o[key] = value;
}
void set_bytes(Json& o, const char* key, const std::string& value) {
  if (!value.empty()) o[key] = base64(value);
}
void set_true(Json& o, const char* key, bool value) {
  if (value) o[key] = true;
}

Json header_json(const protocol::ResponseHeader& h) {
  Json o = Json::object();
  set_nonzero(o, "cluster_id", h.cluster_id);
  set_nonzero(o, "member_id", h.member_id);
  set_nonzero(o, "revision", h.revision);
  set_nonzero(o, "raft_term", h.raft_term);
  return o;
}

Json kv_json(const KeyValue& kv) {
  Json o = Json::object();
  set_bytes(o, "key", kv.key);
  set_nonzero(o, "create_revision", kv.create_revision);
  set_nonzero(o, "mod_revision", kv.mod_revision);
  set_nonzero(o, "version", kv.version);
  set_bytes(o, "value", kv.value);
  set_nonzero(o, "lease", kv.lease);
  return o;
}

Json kvs_json(const std::vector<KeyValue>& kvs) {
  Json a = Json::array();
  for (const auto& kv : kvs)
    a.push_back(kv_json(kv));
  return a;
}

// One output line: the document as etcdctl's Go encoder writes it.
std::string line(const Json& document) {
  return util::json::dump(document) + "\n";
}

// printKV of etcdctl: the key line unless value_only, then the value line.
void print_kv(std::string& out, const KeyValue& kv, bool value_only = false) {
  if (!value_only) out += kv.key + "\n";
  out += kv.value + "\n";
}

// The header of a response inside a txn: etcd fills in only the revision.
protocol::ResponseHeader with_revision(const protocol::ResponseHeader&, int64_t revision) {
  protocol::ResponseHeader h;
  h.revision = revision;
  return h;
}

Json range_json(const protocol::ResponseHeader& h, const storage::RangeResponse& r) {
  Json o = {{"header", header_json(h)}};
  if (!r.kvs.empty()) o["kvs"] = kvs_json(r.kvs);
  set_true(o, "more", r.more);
  set_nonzero(o, "count", r.count);
  return o;
}

Json put_json(const protocol::ResponseHeader& h, const storage::PutResponse& r) {
  Json o = {{"header", header_json(h)}};
  if (r.prev_kv) o["prev_kv"] = kv_json(*r.prev_kv);
  return o;
}

Json del_json(const protocol::ResponseHeader& h, const storage::DeleteRangeResponse& r) {
  Json o = {{"header", header_json(h)}};
  set_nonzero(o, "deleted", r.deleted);
  if (!r.prev_kvs.empty()) o["prev_kvs"] = kvs_json(r.prev_kvs);
  return o;
}

Json txn_json(const protocol::ResponseHeader& h, const storage::TxnResponse& r) {
  Json responses = Json::array();
  for (const auto& op : r.responses) {
    // Go marshals the oneof as {"Response": {"ResponsePut": {...}}}.
    Json inner = Json::object();
    std::visit(
        [&](const auto& v) {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, storage::RangeResponse>)
            inner["ResponseRange"] = range_json(with_revision(h, v.revision), v);
          else if constexpr (std::is_same_v<T, storage::PutResponse>)
            inner["ResponsePut"] = put_json(with_revision(h, v.revision), v);
          else if constexpr (std::is_same_v<T, storage::DeleteRangeResponse>)
            inner["ResponseDeleteRange"] = del_json(with_revision(h, v.revision), v);
          else
            inner["ResponseTxn"] = txn_json(with_revision(h, v->revision), *v);
        },
        op.op);
    responses.push_back({{"Response", std::move(inner)}});
  }
  Json o = {{"header", header_json(h)}};
  set_true(o, "succeeded", r.succeeded);
  if (!r.responses.empty()) o["responses"] = std::move(responses);
  return o;
}

void txn_simple(std::string& out, const storage::TxnResponse& r) {
  out += r.succeeded ? "SUCCESS\n" : "FAILURE\n";
  for (const auto& op : r.responses) {
    out += "\n";
    std::visit(
        [&](const auto& v) {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, storage::RangeResponse>) {
            for (const auto& kv : v.kvs)
              print_kv(out, kv);
          } else if constexpr (std::is_same_v<T, storage::PutResponse>) {
            out += "OK\n";
            if (v.prev_kv) print_kv(out, *v.prev_kv);
          } else if constexpr (std::is_same_v<T, storage::DeleteRangeResponse>) {
            out += std::to_string(v.deleted) + "\n";
            for (const auto& kv : v.prev_kvs)
              print_kv(out, kv);
          } else {
            txn_simple(out, *v);
          }
        },
        op.op);
  }
}

const char* alarm_name(protocol::AlarmType a) {
  switch (a) {
    case protocol::AlarmType::nospace:
      return "NOSPACE";
    case protocol::AlarmType::corrupt:
      return "CORRUPT";
    case protocol::AlarmType::none:
      break;
  }
  return "NONE";
}

}  // namespace

std::string lease_hex(int64_t id) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(id));
  return buf;
}

std::string format_put(const Kv<storage::PutResponse>& r, Format f) {
  if (f == Format::protobuf) return protobuf_put(r);
  if (f == Format::json) return line(put_json(r.header, r.response));
  if (f == Format::fields) return fields_put(r.header, r.response);
  std::string out = "OK\n";
  if (r.response.prev_kv) print_kv(out, *r.response.prev_kv);
  return out;
}

std::string format_get(const Kv<storage::RangeResponse>& r, Format f, bool value_only,
                       bool count_only) {
  if (f == Format::protobuf) return protobuf_get(r);
  if (f == Format::json) return line(range_json(r.header, r.response));
  if (f == Format::fields) return fields_get(r.header, r.response);
  if (count_only) return std::to_string(r.response.count) + "\n";
  std::string out;
  for (const auto& kv : r.response.kvs)
    print_kv(out, kv, value_only);
  return out;
}

std::string format_del(const Kv<storage::DeleteRangeResponse>& r, Format f) {
  if (f == Format::protobuf) return protobuf_del(r);
  if (f == Format::json) return line(del_json(r.header, r.response));
  if (f == Format::fields) return fields_del(r.header, r.response);
  std::string out = std::to_string(r.response.deleted) + "\n";
  for (const auto& kv : r.response.prev_kvs)
    print_kv(out, kv);
  return out;
}

std::string format_txn(const Kv<storage::TxnResponse>& r, Format f) {
  if (f == Format::protobuf) return protobuf_txn(r);
  if (f == Format::json) return line(txn_json(r.header, r.response));
  if (f == Format::fields) return fields_txn(r.header, r.response);
  std::string out;
  txn_simple(out, r.response);
  return out;
}

// etcdctl prints this line in every format (it does not go through a printer).
std::string format_compact(int64_t revision, const Kv<storage::CompactResponse>&, Format) {
  return "compacted revision " + std::to_string(revision) + "\n";
}

std::string format_defrag(const std::string& endpoint, Format) {
  return "Finished defragmenting etcd member[" + endpoint + "]\n";
}

std::string format_alarms(const protocol::AlarmResponse& r, Format f) {
  if (f == Format::protobuf) return protobuf_alarms(r);
  if (f == Format::json) {
    Json alarms = Json::array();
    for (const auto& a : r.alarms) {
      Json o = Json::object();
      set_nonzero(o, "memberID", a.member_id);
      set_nonzero(o, "alarm", static_cast<int64_t>(a.alarm));
      alarms.push_back(std::move(o));
    }
    // etcd 3.4 answers Alarm without a header: etcdctl prints `{}` when there is no alarm.
    Json o = Json::object();
    if (!r.alarms.empty()) o["alarms"] = std::move(alarms);
    return line(o);
  }
  if (f == Format::fields) return fields_alarms(r);
  std::string out;
  // Go's %+v of the proto message: its text form, which ends with a space.
  for (const auto& a : r.alarms)
    out += "memberID:" + std::to_string(a.member_id) + " alarm:" + alarm_name(a.alarm) + " \n";
  return out;
}

namespace {
// etcdctl prints lease responses as the clientv3 structs, which embed the header's fields
// (still `omitempty`).
Json flat_header(const protocol::ResponseHeader& h) {
  return header_json(h);
}
Json with_id_ttl(Json o, int64_t id, int64_t ttl) {
  o["ID"] = id;
  o["TTL"] = ttl;
  return o;
}
}  // namespace

std::string format_lease_grant(const protocol::LeaseGrantResponse& r, Format f) {
  if (f == Format::protobuf) return protobuf_header(r.header);
  if (f == Format::json) {
    // clientv3.LeaseGrantResponse has an Error string, empty here (etcd 3.4 always sends "").
    Json o = with_id_ttl(flat_header(r.header), r.id, r.ttl);
    o["Error"] = "";
    return line(o);
  }
  if (f == Format::fields) return fields_lease(r.header, r.id, r.ttl);
  return "lease " + lease_hex(r.id) + " granted with TTL(" + std::to_string(r.ttl) + "s)\n";
}

std::string format_lease_revoke(int64_t id, const protocol::LeaseRevokeResponse& r, Format f) {
  if (f == Format::json) return line({{"header", header_json(r.header)}});
  if (f == Format::fields) return fields_header(r.header);
  return "lease " + lease_hex(id) + " revoked\n";
}

std::string format_keep_alive(const protocol::LeaseKeepAliveResponse& r, Format f) {
  // clientv3 closes the keep-alive channel on a gone lease: only simple prints a line then.
  if (r.ttl <= 0 && f != Format::simple) return "";
  if (f == Format::protobuf) return protobuf_header(r.header);
  if (f == Format::json) return line(with_id_ttl(flat_header(r.header), r.id, r.ttl));
  if (f == Format::fields) return fields_lease(r.header, r.id, r.ttl);
  if (r.ttl <= 0) return "lease " + lease_hex(r.id) + " expired or revoked.\n";
  return "lease " + lease_hex(r.id) + " keepalived with TTL(" + std::to_string(r.ttl) + ")\n";
}

std::string format_time_to_live(const protocol::LeaseTimeToLiveResponse& r, bool keys, Format f) {
  if (f == Format::protobuf) return protobuf_header(r.header);
  if (f == Format::json) {
    // clientv3.LeaseTimeToLiveResponse's json tags: id, ttl, granted-ttl, keys.
    Json o = flat_header(r.header);
    o["id"] = r.id;
    o["ttl"] = r.ttl;
    o["granted-ttl"] = r.granted_ttl;
    // A nil [][]byte: Go writes null.
    Json keys_json = nullptr;
    for (const auto& k : r.keys)
      keys_json.push_back(base64(k));
    o["keys"] = std::move(keys_json);
    return line(o);
  }
  if (f == Format::fields) return fields_time_to_live(r);
  if (r.granted_ttl == 0 && r.ttl == -1) return "lease " + lease_hex(r.id) + " already expired\n";
  std::string out = "lease " + lease_hex(r.id) + " granted with TTL(" +
                    std::to_string(r.granted_ttl) + "s), remaining(" + std::to_string(r.ttl) + "s)";
  if (keys) {
    // Go's %v of a []string: [a b c]
    std::string list;
    for (const auto& k : r.keys)
      list += (list.empty() ? "" : " ") + k;
    out += ", attached keys([" + list + "])";
  }
  return out + "\n";
}

std::string format_leases(const protocol::LeaseLeasesResponse& r, Format f) {
  if (f == Format::protobuf) return protobuf_header(r.header);
  if (f == Format::json) {
    // clientv3.LeaseLeasesResponse: the header embedded, `leases` of {"id"} (never null).
    Json leases = Json::array();
    for (const auto& l : r.leases)
      leases.push_back({{"id", l.id}});
    Json o = flat_header(r.header);
    o["leases"] = std::move(leases);
    return line(o);
  }
  if (f == Format::fields) return fields_leases(r);
  std::string out = "found " + std::to_string(r.leases.size()) + " leases\n";
  for (const auto& l : r.leases)
    out += lease_hex(l.id) + "\n";
  return out;
}

std::string format_watch(const protocol::WatchResponse& r, Format f) {
  if (f == Format::protobuf) return protobuf_watch(r);
  if (f == Format::json) {
    // clientv3 hands etcdctl a non-nil slice even for a cancel: `[]`, never null.
    Json events = Json::array();
    for (const auto& e : r.events) {
      Json o = Json::object();
      set_nonzero(o, "type", static_cast<int64_t>(e.type));
      o["kv"] = kv_json(e.kv);
      if (e.prev_kv) o["prev_kv"] = kv_json(*e.prev_kv);
      events.push_back(std::move(o));
    }
    // etcdctl prints only responses with events or a cancel; an empty progress answer
    // prints nothing (no `"Events":null` line).
    if (r.events.empty() && !r.canceled) return "";
    return line({{"Header", header_json(r.header)},
                 {"Events", std::move(events)},
                 {"CompactRevision", r.compact_revision},
                 {"Canceled", r.canceled},
                 {"Created", r.created}});
  }
  if (f == Format::fields) return r.events.empty() ? "" : fields_watch(r);
  std::string out;
  for (const auto& e : r.events) {
    out += e.type == storage::Event::Type::put ? "PUT\n" : "DELETE\n";
    if (e.prev_kv) print_kv(out, *e.prev_kv);
    print_kv(out, e.kv);
  }
  return out;
}

std::string format_snapshot_saved(const std::string& file) {
  return "Snapshot saved at " + file + "\n";
}

}  // namespace revkv::ctl
