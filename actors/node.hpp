#pragma once

// The node: opens the store, rebuilds every shard's index from one scan, spawns the
// actors in dependency order (backend, shards, coordinator, watch hub, maintenance,
// lessor, listener) and the supervisor that monitors them (actors/supervisor_actor.hpp),
// and shuts them down in reverse: stop supervising, stop accepting, let sessions finish
// what is in flight, stop the writers, sync and close RocksDB.

#include "actors/node_context.hpp"
#include "actors/session.hpp"
#include "actors/supervisor_actor.hpp"
#include "storage/error.hpp"
#include "util/clock.hpp"

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace revkv::actors {

struct NodeConfig {
  std::string data_dir = "./revkv.data";
  std::string client_host = "127.0.0.1";
  uint16_t client_port = 7379;  // 0: pick a free port
  // false: no listener and no acceptor; the actors are reached through routes() only
  // (the in-process test harness, tests/actors/).
  bool listen = true;
  // With `listen`: no listening socket of the node's own; connections come through
  // adopt_connection() (revkvd's TLS terminator in front, docs/SECURITY.md).
  bool adopt_only = false;
  NodeOptions options;
  storage::BackendOptions backend;
  // Copied into NodeContext::metrics; may be null.
  ::revkv::metrics::NodeMetricsPtr metrics;
  // Called once if a core actor dies while the node is not stopping, on the supervisor's
  // thread (see FailureCallback); may be empty. NodeContext::failure holds the same reason.
  FailureCallback on_failure;
  // Lease time, for the lessor (util/clock.hpp); null: the real clock. A test passes a
  // util::ManualClock and drives the expiry checks itself.
  util::ClockPtr clock = util::real_clock();
  // Cluster mode (docs/CLUSTER.md): the link to the Raft member, in the context before any
  // actor or door starts, so that no request is ever served as a single node's; its member id
  // names this node in responses. Null: a single node.
  std::shared_ptr<ClusterLink> cluster;
};

class Node {
 public:
  // Opens the data directory and starts serving. `sys` must have the io middleman loaded.
  static storage::Result<std::unique_ptr<Node>> start(caf::actor_system& sys, NodeConfig config);
  ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  uint16_t client_port() const { return client_port_; }  // 0 without a listener
  // Serves the connected stream socket `fd` (owned from now on) as an accepted client
  // connection; closed at once when the node stops or has no acceptor. Any thread.
  // `certificate_cn`: the CN of the client certificate the TLS terminator verified on it
  // (docs/SECURITY.md "The certificate's CN as the user"), nullopt for none.
  void adopt_connection(int fd, std::optional<std::string> certificate_cn = std::nullopt) const;
  // Cluster mode, leadership lost with writes in flight (actors/leadership_drain.hpp): every
  // MessagePack connection answers what waits with `etcdserver: leader changed` and keeps a
  // copy of `hold` until the answers are written. Any thread.
  void drain_sessions(const DrainHoldPtr& hold) const;
  const NodeContextPtr& context() const { return ctx_; }
  // The actors, for the in-process test harness.
  const Routes& routes() const { return routes_; }

  // Every core actor with the name supervision reports it by: "backend", "shard:0" ..
  // "shard:S-1", "coordinator", "maintenance", "watch_hub", "lessor".
  std::vector<NamedActor> core_actors() const;

  // Test hook (revkvd --test-hooks, POST /debug/kill): kills the core actor `name` (as
  // core_actors() names it) with exit_reason::kill, which it cannot trap; the supervisor
  // then reports the node failed. False when there is no such actor. Never called in
  // production: a killed core actor ends the process.
  bool kill_for_test(std::string_view name) const;

  // The first half of stop(): stops supervising and accepting, and waits until the
  // MessagePack sessions have answered what they have in flight and closed. In cluster mode
  // revkvd calls it before it stops the Raft member, which those writes need to be answered
  // (apps/revkvd/main.cpp). Idempotent; stop() does it when it was not done.
  void stop_accepting();

  // Clean shutdown; waits for in-flight requests. Idempotent.
  storage::Status stop();

 private:
  Node(caf::actor_system& sys, NodeContextPtr ctx) : sys_(sys), ctx_(std::move(ctx)) {}

  caf::actor_system& sys_;
  NodeContextPtr ctx_;
  caf::actor backend_;
  Routes routes_;
  caf::actor acceptor_;
  caf::actor supervisor_;
  uint16_t client_port_ = 0;
  bool accepting_stopped_ = false;
  bool stopped_ = false;
};

}  // namespace revkv::actors
