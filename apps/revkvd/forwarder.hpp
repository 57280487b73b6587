#pragma once

// Cluster mode: the actor that carries what a follower cannot serve to the leader's
// MessagePack door and brings the answer back (actors/forwarding.hpp; docs/CLUSTER.md
// "Forwarding"). A small pool of workers on their own threads, each with one persistent
// connection to the leader, opened when first needed and again when the leader moves or
// the connection breaks. The pool hands requests to its workers in turn; a worker sends
// every request waiting for it at once (pipelined on its connection, as one batch) and
// then answers each as its answer arrives, while the next batch gathers in its mailbox (the
// doors bound their own requests in flight). One more worker carries the Auth.* calls
// (Forwarders::auth), one at a time, and one the Cluster.* changes and the compactions
// (Forwarders::cluster: long calls, which would hold up a batch).

#include "actors/cluster_link.hpp"
#include "tls/client_tunnel.hpp"

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include <chrono>
#include <cstddef>
#include <memory>

namespace revkv::apps {

struct ForwarderOptions {
  size_t connections = 4;
  std::chrono::milliseconds connect_timeout{1000};
  // The longest a forwarded request waits for the leader's answer; then it is answered
  // Unavailable "etcdserver: request timed out" (a write may still have been applied).
  std::chrono::milliseconds request_timeout{5000};
  // With a leader whose doors speak TLS: this member's --trusted-ca-file for the leader's
  // certificate, and its --cert-file/--key-file when the leader asks for a client
  // certificate (as etcd's gateway does). `enabled` is decided per leader.
  tls::ClientConfig tls;
};

struct Forwarders {
  caf::actor pool;  // ClusterLink::forwarder
  // The Auth.* calls' own worker (actors/auth_replication.hpp): detached and addressed
  // directly, because the auth runner's thread blocks on an auth call it forwards, so what
  // answers must not need a scheduler thread, as the pool would. It ends with the pool.
  caf::actor auth;
  // The Cluster.* changes' worker (ClusterLink::forward_call), and the forwarded
  // compactions': one call at a time, with a longer wait for the leader's answer (a
  // promotion waits for the learner to catch up, a physical compaction for its end).
  caf::actor cluster;
};

Forwarders spawn_forwarder(caf::actor_system& sys, std::shared_ptr<actors::ClusterLink> link,
                           ForwarderOptions options);

}  // namespace revkv::apps
