#pragma once

// etcdctl's member commands as the membership tests read them (docs/CLUSTER.md
// "Membership"): the member list every member must agree on, the id `member add` printed.

#include "tests/etcdapi/etcdctl_run.hpp"

#include <algorithm>
#include <sstream>
#include <string>
#include <vector>

namespace revkv::testing {

// A simple member list (etcdctl's or revkvctl's) without the status and clientURLs columns
// (each member knows its own client URL before it has published it; revkvctl lists
// MessagePack URLs where etcdctl lists gRPC ones), sorted: ID, name, peer URLs, learner.
inline std::string member_rows(const std::string& simple) {
  std::vector<std::string> rows;
  std::istringstream in(simple);
  for (std::string line; std::getline(in, line);) {
    std::vector<std::string> cols;
    size_t from = 0;
    for (size_t at; (at = line.find(", ", from)) != std::string::npos; from = at + 2)
      cols.push_back(line.substr(from, at - from));
    cols.push_back(line.substr(from));
    if (cols.size() != 6) return "unexpected: " + line;
    rows.push_back(cols[0] + ", " + cols[2] + ", " + cols[3] + ", " + cols[5]);
  }
  std::sort(rows.begin(), rows.end());
  std::string out;
  for (const auto& r : rows)
    out += r + "\n";
  return out;
}

// etcdctl's member list on `endpoint` as member_rows: what must be equal on every member.
inline std::string members_seen(const std::string& bin, const std::string& endpoint) {
  auto run = testing::etcdctl(bin, endpoint, "member list");
  if (run.status != 0) return "error: " + run.out;
  return member_rows(run.out);
}

// One row of member_rows: a started member is listed with the name it published (docs/CLUSTER.md
// "Membership": a follower publishes its attributes through the leader too).
inline std::string member_row(const std::string& id, const std::string& name,
                              const std::string& peer_url, bool learner) {
  return id + ", " + name + ", " + peer_url + ", " + (learner ? "true" : "false");
}

// etcdctl `member add` of the cluster's reserved member `added`, sent to `endpoint`.
template <class Cluster>
auto etcdctl_member_add(const std::string& bin, const std::string& endpoint, Cluster& cluster,
                        size_t added) {
  return testing::etcdctl(
      bin, endpoint,
      "member add " + cluster.name(added) + " --peer-urls=" + cluster.peer_url(added));
}

inline std::string hex_id_of(const std::string& add_output) {
  // "Member %16x added to cluster ...": an id of fewer than 16 hex digits is padded with
  // spaces.
  auto at = add_output.find("Member ");
  if (at == std::string::npos) return "";
  auto from = add_output.find_first_not_of(' ', at + 7);
  if (from == std::string::npos) return "";
  auto end = add_output.find(' ', from);
  return add_output.substr(from, end - from);
}

}  // namespace revkv::testing
