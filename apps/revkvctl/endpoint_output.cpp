#include "apps/revkvctl/endpoint_output.hpp"

#include "apps/revkvctl/fields.hpp"
#include "apps/revkvctl/go_text.hpp"
#include "apps/revkvctl/output.hpp"
#include "apps/revkvctl/protobuf.hpp"
#include "apps/revkvctl/table.hpp"
#include "util/json.hpp"

#include <cstdio>

namespace revkv::ctl {
namespace {

using util::json::Json;

std::string hex(uint64_t v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%llx", static_cast<unsigned long long>(v));
  return buf;
}

std::string join(const std::vector<std::string>& parts, const char* separator) {
  std::string out;
  for (const auto& p : parts)
    out += (out.empty() ? "" : separator) + p;
  return out;
}

// Go's %v of a []string: [a b].
std::string go_list(const std::vector<std::string>& parts) {
  return "[" + join(parts, " ") + "]";
}

std::string simple_rows(const std::vector<std::vector<std::string>>& rows) {
  std::string out;
  for (const auto& row : rows)
    out += join(row, ", ") + "\n";
  return out;
}

template <class Number>
void set_nonzero(Json& o, const char* key, Number value) {
  if (value != 0) o[key] = value;
}

Json header_json(const protocol::ResponseHeader& h, bool with_revision = true) {
  Json o = Json::object();
  set_nonzero(o, "cluster_id", h.cluster_id);
  set_nonzero(o, "member_id", h.member_id);
  if (with_revision) set_nonzero(o, "revision", h.revision);
  set_nonzero(o, "raft_term", h.raft_term);
  return o;
}

std::string line(const Json& document) {
  return util::json::dump(document) + "\n";
}

}  // namespace

std::string format_endpoint_status(const std::vector<EndpointStatus>& list, Format f) {
  if (f == Format::json) {
    Json a = Json::array();
    for (const auto& e : list) {
      const auto& r = e.status;
      // etcd 3.4's StatusResponse; a single node has applied all it has committed.
      Json s = {{"header", header_json(r.header)}, {"version", r.version}};
      set_nonzero(s, "dbSize", r.db_size);
      set_nonzero(s, "leader", r.leader);
      set_nonzero(s, "raftIndex", r.raft_index);
      set_nonzero(s, "raftTerm", r.raft_term);
      set_nonzero(s, "raftAppliedIndex", r.raft_index);
      if (!r.errors.empty()) s["errors"] = r.errors;
      set_nonzero(s, "dbSizeInUse", r.db_size_in_use);
      a.push_back({{"Endpoint", e.endpoint}, {"Status", std::move(s)}});
    }
    return line(a);
  }
  if (f == Format::fields) {
    std::string out;
    for (const auto& e : list) {
      const auto& r = e.status;
      out += fields_header(r.header) + "\"Version\" : " + go_quote(r.version) + "\n" +
             "\"DBSize\" : " + std::to_string(r.db_size) + "\n" +
             "\"Leader\" : " + std::to_string(r.leader) + "\n" + "\"IsLearner\" : false\n" +
             "\"RaftIndex\" : " + std::to_string(r.raft_index) + "\n" +
             "\"RaftTerm\" : " + std::to_string(r.raft_term) + "\n" +
             "\"RaftAppliedIndex\" : " + std::to_string(r.raft_index) + "\n" +
             "\"Errors\" : " + go_list(r.errors) + "\n" + "\"Endpoint\" : " + go_quote(e.endpoint) +
             "\n\n";
    }
    return out;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& e : list) {
    const auto& r = e.status;
    rows.push_back({e.endpoint, hex(r.header.member_id), r.version,
                    human_bytes(static_cast<uint64_t>(r.db_size)),
                    r.leader == r.header.member_id ? "true" : "false", "false",
                    std::to_string(r.raft_term), std::to_string(r.raft_index),
                    std::to_string(r.raft_index), join(r.errors, ", ")});
  }
  if (f == Format::table)
    return render_table({"Endpoint", "ID", "Version", "DB Size", "Is Leader", "Is Learner",
                         "Raft Term", "Raft Index", "Raft Applied Index", "Errors"},
                        rows);
  return simple_rows(rows);
}

std::string format_endpoint_health(const std::vector<EndpointHealth>& list, Format f) {
  if (f == Format::json) {
    Json a = Json::array();
    for (const auto& h : list) {
      Json o = {{"endpoint", h.endpoint}, {"health", h.health}, {"took", go_duration(h.took_ns)}};
      if (!h.error.empty()) o["error"] = h.error;
      a.push_back(std::move(o));
    }
    return line(a);
  }
  if (f == Format::fields) {
    std::string out;
    for (const auto& h : list)
      out += "\"Endpoint\" : " + go_quote(h.endpoint) +
             "\n\"Health\" : " + (h.health ? "true" : "false") +
             "\n\"Took\" : " + go_duration(h.took_ns) + "\n\"Error\" : " + h.error + "\n\n";
    return out;
  }
  if (f == Format::table) {
    std::vector<std::vector<std::string>> rows;
    for (const auto& h : list)
      rows.push_back({h.endpoint, h.health ? "true" : "false", go_duration(h.took_ns), h.error});
    return render_table({"Endpoint", "Health", "Took", "Error"}, rows);
  }
  std::string out;
  for (const auto& h : list) {
    if (h.error.empty())
      out += h.endpoint +
             " is healthy: successfully committed proposal: took = " + go_duration(h.took_ns) +
             "\n";
    else
      out += h.endpoint + " is unhealthy: failed to commit proposal: " + h.error + "\n";
  }
  return out;
}

std::string format_endpoint_hashkv(const std::vector<EndpointHash>& list, Format f) {
  if (f == Format::json) {
    Json a = Json::array();
    for (const auto& e : list) {
      // etcd 3.4's HashKVResponse has no hash_revision.
      Json h = {{"header", header_json(e.hash.header)}};
      set_nonzero(h, "hash", e.hash.hash);
      set_nonzero(h, "compact_revision", e.hash.compact_revision);
      a.push_back({{"Endpoint", e.endpoint}, {"HashKV", std::move(h)}});
    }
    return line(a);
  }
  if (f == Format::fields) {
    std::string out;
    for (const auto& e : list)
      out += fields_header(e.hash.header) + "\"Endpoint\" : " + go_quote(e.endpoint) +
             "\n\"Hash\" : " + std::to_string(e.hash.hash) + "\n\n";
    return out;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& e : list)
    rows.push_back({e.endpoint, std::to_string(e.hash.hash)});
  if (f == Format::table) return render_table({"Endpoint", "Hash"}, rows);
  return simple_rows(rows);
}

namespace {

// etcdserverpb.Member as Go's encoding/json writes it (omitempty fields).
Json member_json(const Member& m) {
  Json o = Json::object();
  set_nonzero(o, "ID", m.id);
  if (!m.name.empty()) o["name"] = m.name;
  if (!m.peer_urls.empty()) o["peerURLs"] = m.peer_urls;
  if (!m.client_urls.empty()) o["clientURLs"] = m.client_urls;
  if (m.is_learner) o["isLearner"] = true;
  return o;
}

Json members_json(const std::vector<Member>& list) {
  Json members = Json::array();
  for (const auto& m : list)
    members.push_back(member_json(m));
  return members;
}

// etcdctl's "%16x": hexadecimal, padded with spaces to 16 columns.
std::string hex16(uint64_t v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%16llx", static_cast<unsigned long long>(v));
  return buf;
}

}  // namespace

std::string format_member_add(const MemberList& after, const Member& added, const std::string& name,
                              Format f) {
  // etcd's Cluster responses carry no revision in their header.
  if (f == Format::json)
    return line({{"header", header_json(after.header, false)},
                 {"member", member_json(added)},
                 {"members", members_json(after.members)}});
  std::string out =
      "Member " + hex16(added.id) + " added to cluster " + hex16(after.header.cluster_id) + "\n";
  // The lines to start the new member with (etcdctl's member add, simple output only).
  std::vector<std::string> conf;
  for (const auto& m : after.members)
    for (const auto& u : m.peer_urls)
      conf.push_back((m.id == added.id ? name : m.name) + "=" + u);
  out += "\nETCD_NAME=" + go_quote(name) + "\n";
  out += "ETCD_INITIAL_CLUSTER=" + go_quote(join(conf, ",")) + "\n";
  out += "ETCD_INITIAL_ADVERTISE_PEER_URLS=" + go_quote(join(added.peer_urls, ",")) + "\n";
  out += "ETCD_INITIAL_CLUSTER_STATE=\"existing\"\n";
  return out;
}

std::string format_member_changed(const std::string& verb, uint64_t id, const MemberList& after,
                                  Format f) {
  if (f == Format::json)
    return line(
        {{"header", header_json(after.header, false)}, {"members", members_json(after.members)}});
  return "Member " + hex16(id) + " " + verb + " cluster " + hex16(after.header.cluster_id) + "\n";
}

std::string format_move_leader(uint64_t from, uint64_t to, const protocol::ResponseHeader& header,
                               Format f) {
  if (f == Format::json) return line({{"header", header_json(header)}});
  return "Leadership transferred from " + hex(from) + " to " + hex(to) + "\n";
}

std::string format_member_list(const MemberList& list, Format f) {
  if (f == Format::protobuf) return protobuf_member_list(list);
  if (f == Format::json) {
    // etcd's MemberList header carries no revision.
    return line(
        {{"header", header_json(list.header, false)}, {"members", members_json(list.members)}});
  }
  if (f == Format::fields) {
    protocol::ResponseHeader h = list.header;
    h.revision = 0;
    std::string out = fields_header(h);
    for (const auto& m : list.members) {
      out += "\"ID\" : " + std::to_string(m.id) + "\n\"Name\" : " + go_quote(m.name) + "\n";
      for (const auto& u : m.peer_urls)
        out += "\"PeerURL\" : " + go_quote(u) + "\n";
      for (const auto& u : m.client_urls)
        out += "\"ClientURL\" : " + go_quote(u) + "\n";
      out += std::string("\"IsLearner\" : ") + (m.is_learner ? "true" : "false") + "\n\n";
    }
    return out;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& m : list.members)
    rows.push_back({hex(m.id), m.name.empty() ? "unstarted" : "started", m.name,
                    join(m.peer_urls, ","), join(m.client_urls, ","),
                    m.is_learner ? "true" : "false"});
  if (f == Format::table)
    return render_table({"ID", "Status", "Name", "Peer Addrs", "Client Addrs", "Is Learner"}, rows);
  return simple_rows(rows);
}

std::string format_snapshot_status(const SnapshotStatus& status, Format f) {
  const uint32_t hash = status.hash;
  const int64_t revision = status.revision;
  const int64_t total_keys = status.total_keys;
  const int64_t total_size = status.total_size;
  if (f == Format::json)
    return line({{"hash", hash},
                 {"revision", revision},
                 {"totalKey", total_keys},
                 {"totalSize", total_size}});
  if (f == Format::fields)
    return "\"Hash\" : " + std::to_string(hash) + "\n\"Revision\" : " + std::to_string(revision) +
           "\n\"Keys\" : " + std::to_string(total_keys) +
           "\n\"Size\" : " + std::to_string(total_size) + "\n";
  std::vector<std::vector<std::string>> rows{{hex(hash), std::to_string(revision),
                                              std::to_string(total_keys),
                                              human_bytes(static_cast<uint64_t>(total_size))}};
  if (f == Format::table)
    return render_table({"Hash", "Revision", "Total Keys", "Total Size"}, rows);
  return simple_rows(rows);
}

}  // namespace revkv::ctl
