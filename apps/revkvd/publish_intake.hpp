#pragma once

// The leader's side of a publish request (docs/CLUSTER.md "Membership"): a follower's own
// client addresses, received on the leader's catch-up port (apps/revkvd/publish_request.hpp),
// checked, then proposed through the log as a state change of kind `member`. The catch-up
// port is the channel between members the leader can trust: with peer TLS only a verified
// peer certificate gets there, and it must name the host of the member it publishes for;
// without peer TLS the cluster trusts its network, as it does for Raft itself. The client
// doors are no such channel: any client could redirect what followers forward (tokens
// included).

#include "actors/cluster_link.hpp"

#include <functional>
#include <openssl/x509.h>
#include <optional>
#include <string>
#include <string_view>

namespace revkv::apps {

// Appends one state change and waits (bounded) until it is committed and applied on this
// member; the error in etcd's words when it is not.
using ProposeBounded = std::function<std::optional<std::string>(std::string entry)>;

// Decides one publish request: "" once the log holds the attributes (proposed now, or
// already there), else the reason for the "X" answer: `etcdserver: not leader`,
// `etcdserver: member not found` (the id is not in the configuration), a malformed payload,
// a certificate that does not name the member's peer host, the proposal's error.
// `certificate` is the verified peer certificate (null on a plaintext port);
// `certificate_required`: peer TLS is on.
std::string take_published_attributes(actors::ClusterLink& link, std::string_view payload,
                                      X509* certificate, bool certificate_required,
                                      const ProposeBounded& propose);

}  // namespace revkv::apps
