#pragma once

// The output of `endpoint status|health|hashkv` and `member list` in etcdctl 3.4's four
// formats. These commands ask each endpoint of --endpoints, so they print lists.

#include "apps/revkvctl/cli.hpp"
#include "apps/revkvctl/snapshot.hpp"
#include "protocol/messages.hpp"

#include <string>
#include <vector>

namespace revkv::ctl {

struct EndpointStatus {
  std::string endpoint;
  protocol::StatusResponse status;
};
struct EndpointHealth {
  std::string endpoint;
  bool health = false;
  int64_t took_ns = 0;
  std::string error;  // empty when healthy
};
struct EndpointHash {
  std::string endpoint;
  protocol::HashKVResponse hash;
};
struct Member {
  uint64_t id = 0;
  std::string name;
  std::vector<std::string> peer_urls;
  std::vector<std::string> client_urls;
  bool is_learner = false;
};
struct MemberList {
  protocol::ResponseHeader header;
  std::vector<Member> members;
};

std::string format_endpoint_status(const std::vector<EndpointStatus>& list, Format f);
// In `simple`, etcdctl writes these lines to stderr; the caller picks the stream.
std::string format_endpoint_health(const std::vector<EndpointHealth>& list, Format f);
std::string format_endpoint_hashkv(const std::vector<EndpointHash>& list, Format f);
std::string format_member_list(const MemberList& list, Format f);
// `member add` (simple: etcdctl's "Member ID added to cluster ID" and the ETCD_* lines to
// start the new member `name` with; json: the response), `member remove|update|promote`
// (`verb`: "removed from", "updated in", "promoted in"), `move-leader`. Other formats are
// refused by the caller.
std::string format_member_add(const MemberList& after, const Member& added, const std::string& name,
                              Format f);
std::string format_member_changed(const std::string& verb, uint64_t id, const MemberList& after,
                                  Format f);
std::string format_move_leader(uint64_t from, uint64_t to, const protocol::ResponseHeader& header,
                               Format f);
// `snapshot status`: etcdctl's "<hash hex>, <revision>, <total keys>, <size>" (simple),
// {"hash","revision","totalKey","totalSize"} (json), "Hash"/"Revision"/"Keys"/"Size"
// (fields), or its table.
std::string format_snapshot_status(const SnapshotStatus& status, Format f);

}  // namespace revkv::ctl
