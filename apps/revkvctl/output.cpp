#include "apps/revkvctl/output.hpp"

#include "apps/revkvctl/json.hpp"

#include <cmath>
#include <cstdio>

namespace revkv::ctl {
namespace {

using storage::KeyValue;

std::string header_json(const protocol::ResponseHeader& h) {
  JsonObject o;
  if (h.cluster_id) o.unsigned_number("cluster_id", h.cluster_id);
  if (h.member_id) o.unsigned_number("member_id", h.member_id);
  o.omit_empty_number("revision", h.revision);
  if (h.raft_term) o.unsigned_number("raft_term", h.raft_term);
  return o.str();
}

std::string kv_json(const KeyValue& kv) {
  JsonObject o;
  o.omit_empty_bytes("key", kv.key)
      .omit_empty_number("create_revision", kv.create_revision)
      .omit_empty_number("mod_revision", kv.mod_revision)
      .omit_empty_number("version", kv.version)
      .omit_empty_bytes("value", kv.value)
      .omit_empty_number("lease", kv.lease);
  return o.str();
}

std::string kvs_json(const std::vector<KeyValue>& kvs) {
  JsonArray a;
  for (const auto& kv : kvs)
    a.raw(kv_json(kv));
  return a.str();
}

// printKV of etcdctl: the key line unless value_only, then the value line.
void print_kv(std::string& out, const KeyValue& kv, bool value_only = false) {
  if (!value_only) out += kv.key + "\n";
  out += kv.value + "\n";
}

protocol::ResponseHeader with_revision(protocol::ResponseHeader h, int64_t revision) {
  h.revision = revision;
  return h;
}

std::string range_json(const protocol::ResponseHeader& h, const storage::RangeResponse& r) {
  JsonObject o;
  o.raw("header", header_json(h));
  if (!r.kvs.empty()) o.raw("kvs", kvs_json(r.kvs));
  o.omit_false("more", r.more).omit_empty_number("count", r.count);
  return o.str();
}

std::string put_json(const protocol::ResponseHeader& h, const storage::PutResponse& r) {
  JsonObject o;
  o.raw("header", header_json(h));
  if (r.prev_kv) o.raw("prev_kv", kv_json(*r.prev_kv));
  return o.str();
}

std::string del_json(const protocol::ResponseHeader& h, const storage::DeleteRangeResponse& r) {
  JsonObject o;
  o.raw("header", header_json(h)).omit_empty_number("deleted", r.deleted);
  if (!r.prev_kvs.empty()) o.raw("prev_kvs", kvs_json(r.prev_kvs));
  return o.str();
}

std::string txn_json(const protocol::ResponseHeader& h, const storage::TxnResponse& r) {
  JsonArray responses;
  for (const auto& op : r.responses) {
    // Go marshals the oneof as {"Response": {"ResponsePut": {...}}}.
    JsonObject inner;
    std::visit(
        [&](const auto& v) {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, storage::RangeResponse>)
            inner.raw("ResponseRange", range_json(with_revision(h, v.revision), v));
          else if constexpr (std::is_same_v<T, storage::PutResponse>)
            inner.raw("ResponsePut", put_json(with_revision(h, v.revision), v));
          else if constexpr (std::is_same_v<T, storage::DeleteRangeResponse>)
            inner.raw("ResponseDeleteRange", del_json(with_revision(h, v.revision), v));
          else
            inner.raw("ResponseTxn", txn_json(with_revision(h, v->revision), *v));
        },
        op.op);
    responses.raw(JsonObject().raw("Response", inner.str()).str());
  }
  JsonObject o;
  o.raw("header", header_json(h)).omit_false("succeeded", r.succeeded);
  if (!r.responses.empty()) o.raw("responses", responses.str());
  return o.str();
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

std::string hex(uint64_t v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%llx", static_cast<unsigned long long>(v));
  return buf;
}

}  // namespace

std::string lease_hex(int64_t id) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(id));
  return buf;
}

std::string human_bytes(uint64_t bytes) {
  static const char* kSizes[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB"};
  if (bytes < 10) return std::to_string(bytes) + " B";
  double e = std::floor(std::log(static_cast<double>(bytes)) / std::log(1000.0));
  double val = std::floor(static_cast<double>(bytes) / std::pow(1000.0, e) * 10 + 0.5) / 10;
  char buf[64];
  std::snprintf(buf, sizeof buf, val < 10 ? "%.1f %s" : "%.0f %s", val, kSizes[int(e)]);
  return buf;
}

std::string format_put(const Kv<storage::PutResponse>& r, Format f) {
  if (f == Format::json) return put_json(r.header, r.response) + "\n";
  std::string out = "OK\n";
  if (r.response.prev_kv) print_kv(out, *r.response.prev_kv);
  return out;
}

std::string format_get(const Kv<storage::RangeResponse>& r, Format f, bool value_only,
                       bool count_only) {
  if (f == Format::json) return range_json(r.header, r.response) + "\n";
  if (count_only) return std::to_string(r.response.count) + "\n";
  std::string out;
  for (const auto& kv : r.response.kvs)
    print_kv(out, kv, value_only);
  return out;
}

std::string format_del(const Kv<storage::DeleteRangeResponse>& r, Format f) {
  if (f == Format::json) return del_json(r.header, r.response) + "\n";
  std::string out = std::to_string(r.response.deleted) + "\n";
  for (const auto& kv : r.response.prev_kvs)
    print_kv(out, kv);
  return out;
}

std::string format_txn(const Kv<storage::TxnResponse>& r, Format f) {
  if (f == Format::json) return txn_json(r.header, r.response) + "\n";
  std::string out;
  txn_simple(out, r.response);
  return out;
}

std::string format_compact(int64_t revision, const Kv<storage::CompactResponse>& r, Format f) {
  if (f == Format::json) return JsonObject().raw("header", header_json(r.header)).str() + "\n";
  return "compacted revision " + std::to_string(revision) + "\n";
}

std::string format_status(const std::string& endpoint, const protocol::StatusResponse& r,
                          Format f) {
  if (f == Format::json) {
    JsonArray errors;
    for (const auto& e : r.errors)
      errors.raw(json_string(e));
    JsonObject s;
    s.raw("header", header_json(r.header))
        .text("version", r.version)
        .omit_empty_number("dbSize", r.db_size);
    if (r.leader) s.unsigned_number("leader", r.leader);
    if (r.raft_index) s.unsigned_number("raftIndex", r.raft_index);
    if (r.raft_term) s.unsigned_number("raftTerm", r.raft_term);
    if (!r.errors.empty()) s.raw("errors", errors.str());
    s.omit_empty_number("dbSizeInUse", r.db_size_in_use)
        .omit_empty_number("shards", r.shards)
        .omit_empty_number("compactRevision", r.compact_revision);
    return JsonArray()
               .raw(JsonObject().text("Endpoint", endpoint).raw("Status", s.str()).str())
               .str() +
           "\n";
  }
  std::string errors;
  for (const auto& e : r.errors)
    errors += (errors.empty() ? "" : ", ") + e;
  return endpoint + ", " + hex(r.header.member_id) + ", " + r.version + ", " +
         human_bytes(static_cast<uint64_t>(r.db_size)) + ", " +
         human_bytes(static_cast<uint64_t>(r.db_size_in_use)) + ", " +
         (r.leader == r.header.member_id ? "true" : "false") + ", " + std::to_string(r.raft_term) +
         ", " + std::to_string(r.raft_index) + ", " + std::to_string(r.header.revision) + ", " +
         std::to_string(r.compact_revision) + ", " + std::to_string(r.shards) + ", " + errors +
         "\n";
}

std::string format_defrag(const std::string& endpoint, Format) {
  return "Finished defragmenting etcd member[" + endpoint + "]\n";
}

std::string format_hashkv(const std::string& endpoint, const protocol::HashKVResponse& r,
                          Format f) {
  if (f == Format::json) {
    JsonObject h;
    h.raw("header", header_json(r.header))
        .omit_empty_number("hash", r.hash)
        .omit_empty_number("compact_revision", r.compact_revision)
        .omit_empty_number("hash_revision", r.hash_revision);
    return JsonArray()
               .raw(JsonObject().text("Endpoint", endpoint).raw("HashKV", h.str()).str())
               .str() +
           "\n";
  }
  return endpoint + ", " + std::to_string(r.hash) + ", " + std::to_string(r.compact_revision) +
         ", " + std::to_string(r.hash_revision) + "\n";
}

std::string format_alarms(const protocol::AlarmResponse& r, Format f) {
  if (f == Format::json) {
    JsonArray alarms;
    for (const auto& a : r.alarms) {
      JsonObject o;
      if (a.member_id) o.unsigned_number("memberID", a.member_id);
      o.omit_empty_number("alarm", static_cast<int64_t>(a.alarm));
      alarms.raw(o.str());
    }
    JsonObject o;
    o.raw("header", header_json(r.header));
    if (!r.alarms.empty()) o.raw("alarms", alarms.str());
    return o.str() + "\n";
  }
  std::string out;
  for (const auto& a : r.alarms)
    out += "memberID:" + std::to_string(a.member_id) + " alarm:" + alarm_name(a.alarm) + "\n";
  return out;
}

namespace {
// etcdctl prints lease responses as the clientv3 structs, which embed the header's fields.
JsonObject flat_header(const protocol::ResponseHeader& h) {
  JsonObject o;
  o.unsigned_number("cluster_id", h.cluster_id)
      .unsigned_number("member_id", h.member_id)
      .number("revision", h.revision)
      .unsigned_number("raft_term", h.raft_term);
  return o;
}
}  // namespace

std::string format_lease_grant(const protocol::LeaseGrantResponse& r, Format f) {
  if (f == Format::json)
    return flat_header(r.header).number("ID", r.id).number("TTL", r.ttl).str() + "\n";
  return "lease " + lease_hex(r.id) + " granted with TTL(" + std::to_string(r.ttl) + "s)\n";
}

std::string format_lease_revoke(int64_t id, const protocol::LeaseRevokeResponse& r, Format f) {
  if (f == Format::json) return JsonObject().raw("header", header_json(r.header)).str() + "\n";
  return "lease " + lease_hex(id) + " revoked\n";
}

std::string format_keep_alive(const protocol::LeaseKeepAliveResponse& r, Format f) {
  if (f == Format::json)
    return flat_header(r.header).number("ID", r.id).number("TTL", r.ttl).str() + "\n";
  if (r.ttl <= 0) return "lease " + lease_hex(r.id) + " expired or revoked.\n";
  return "lease " + lease_hex(r.id) + " keepalived with TTL(" + std::to_string(r.ttl) + ")\n";
}

std::string format_time_to_live(const protocol::LeaseTimeToLiveResponse& r, bool keys, Format f) {
  if (f == Format::json) {
    JsonObject o = flat_header(r.header);
    o.number("ID", r.id).number("TTL", r.ttl).number("GrantedTTL", r.granted_ttl);
    JsonArray ks;
    for (const auto& k : r.keys)
      ks.raw(json_string(base64(k)));
    o.raw("Keys", r.keys.empty() ? "null" : ks.str());
    return o.str() + "\n";
  }
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
  if (f == Format::json) {
    JsonArray leases;
    for (const auto& l : r.leases)
      leases.raw(JsonObject().number("ID", l.id).str());
    JsonObject o;
    o.raw("header", header_json(r.header)).raw("leases", leases.str());
    return o.str() + "\n";
  }
  std::string out = "found " + std::to_string(r.leases.size()) + " leases\n";
  for (const auto& l : r.leases)
    out += lease_hex(l.id) + "\n";
  return out;
}

std::string format_watch(const protocol::WatchResponse& r, Format f) {
  if (f == Format::json) {
    JsonArray events;
    for (const auto& e : r.events) {
      JsonObject o;
      o.omit_empty_number("type", static_cast<int64_t>(e.type)).raw("kv", kv_json(e.kv));
      if (e.prev_kv) o.raw("prev_kv", kv_json(*e.prev_kv));
      events.raw(o.str());
    }
    JsonObject o;
    o.raw("Header", header_json(r.header))
        .raw("Events", r.events.empty() ? "null" : events.str())
        .number("CompactRevision", r.compact_revision)
        .boolean("Canceled", r.canceled)
        .boolean("Created", r.created);
    return o.str() + "\n";
  }
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
