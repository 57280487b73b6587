#pragma once

// The members a cluster starts with, as --initial-cluster names them:
// `NAME=HOST:PORT,...` (an `http://` or `https://` prefix is accepted, as etcd writes it).
// libraft identifies members by a non-zero 64-bit id; revkv derives it from the name
// (libraft's raft_digest, a SHA-1 prefix), so every member computes the same ids from the
// same flag without any coordination.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace revkv::cluster {

struct Member {
  std::string name;
  std::uint64_t id = 0;
  std::string address;  // HOST:PORT, an IPv4 address (libraft's TCP transport takes no names)
};

// The id of the member called `name`: never 0 (libraft's "no member").
std::uint64_t member_id(std::string_view name);

// The id of a member added to a running cluster (MemberAdd) with its peer address
// HOST:PORT: etcd's MemberAdd names no member, only its peer URL, so the leader and the
// member that joins later (--initial-cluster-state existing) both derive its id from the
// address, with no coordination. A prefix keeps it apart from every name's id.
std::uint64_t joined_member_id(std::string_view address);

// A peer URL as MemberAdd gives it (`http://HOST:PORT`, one only): HOST:PORT. Throws
// std::invalid_argument like parse_initial_cluster (IPv4 hosts only).
std::string parse_peer_url(std::string_view url);

// Whether etcd's types.NewURLs takes `urls` (what its MemberAdd checks first, answering
// InvalidArgument "etcdserver: given member URLs are invalid" otherwise): at least one, each
// (blanks trimmed) SCHEME://HOST:PORT with scheme http, https, unix or unixs (any case), an
// authority Go's net.SplitHostPort splits, and no path.
bool etcd_member_urls_valid(const std::vector<std::string>& urls);

// Parses --initial-cluster. Throws std::invalid_argument naming the fault: an empty list, an
// entry without `=` or without a port, a host that is not an IPv4 literal (libraft 0.15's
// transport neither resolves names nor speaks IPv6), a name or an address given twice.
std::vector<Member> parse_initial_cluster(std::string_view text);

}  // namespace revkv::cluster
