#include "actors/node.hpp"

#include "actors/acceptor.hpp"
#include "actors/auth_replication.hpp"
#include "actors/auth_runner.hpp"
#include "actors/backend_actor.hpp"
#include "actors/coordinator_actor.hpp"
#include "actors/lessor_actor.hpp"
#include "actors/maintenance_actor.hpp"
#include "actors/messages.hpp"
#include "actors/shard_actor.hpp"
#include "actors/snapshot_source.hpp"
#include "actors/supervisor_actor.hpp"
#include "actors/watch_hub.hpp"
#include "auth/password.hpp"
#include "storage/history.hpp"

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include <filesystem>
#include <unistd.h>

namespace revkv::actors {

storage::Result<std::unique_ptr<Node>> Node::start(caf::actor_system& sys, NodeConfig config) {
  if (config.options.shards == 0) {
    return storage::Error{storage::Errc::invalid_argument, "revkv: shards must be at least 1"};
  }
  auto ctx = std::make_shared<NodeContext>();
  ctx->options = config.options;
  ctx->metrics = config.metrics;
  if (config.cluster) {
    ctx->cluster = config.cluster;
    ctx->member_id = config.cluster->member_id;
  }
  auto backend = storage::Backend::open(config.data_dir, config.backend);
  if (!backend.ok()) return backend.error();
  ctx->backend = std::move(*backend);
  // Inside the data dir, whose lock this node now holds: no other node's snapshots are
  // there, and checkpoints on the database's file system are hard links, not copies.
  ctx->snapshot_dir = (std::filesystem::path(config.data_dir) / "snapshots.tmp").string();
  remove_stale_snapshots(ctx->snapshot_dir);

  std::vector<storage::Keyspace*> parts;
  for (size_t i = 0; i < config.options.shards; ++i) {
    ctx->keyspaces.push_back(std::make_unique<storage::Keyspace>(*ctx->backend, i));
    ctx->index_counts.emplace_back();
    ctx->shard_mailbox_depth.emplace_back(0);
    parts.push_back(ctx->keyspaces.back().get());
  }
  storage::KeyspaceSet all(std::move(parts));
  auto recovered = storage::recover_history(*ctx->backend, all, config.options.min_lease_ttl);
  if (!recovered.ok()) return recovered.error();
  ctx->last_revision.store(recovered->current);
  for (size_t i = 0; i < config.options.shards; ++i)
    ctx->publish_index_counts(i);
  ctx->watermark.store(recovered->current);
  // An unfinished compaction is resumed by the maintenance actor; reads below it fail from
  // the start (SPEC §6 step 5).
  ctx->compact_revision.store(recovered->unfinished_compaction.value_or(recovered->compact));
  ctx->finished_compact_revision.store(recovered->compact);
  for (const auto& [id, lease] : recovered->leases)
    ctx->leases.put(lease);
  auto alarm = load_nospace_alarm_member(*ctx->backend, ctx->member_id);
  if (!alarm.ok()) return alarm.error();
  ctx->publish_nospace_alarm(*alarm != 0, *alarm);
  auto auth = auth::AuthStore::open(
      *ctx->backend, auth::StoreOptions{config.options.auth_token_ttl, auth::kBcryptCost,
                                        config.options.auth_jwt});
  if (!auth.ok()) return auth.error();
  ctx->auth = std::move(*auth);
  replicate_auth(*ctx);  // cluster mode: changes through the Raft log
  if (auto size = ctx->backend->size(); size.ok()) {
    ctx->db_size.store(static_cast<int64_t>(size->total_bytes));
  }

  // Bind before spawning anything, so a busy port fails cleanly.
  caf::io::doorman_ptr doorman;
  if (config.listen && !config.adopt_only) {
    auto bound = sys.middleman().backend().new_tcp_doorman(config.client_port,
                                                           config.client_host.c_str(), true);
    if (!bound) {
      return storage::Error{storage::Errc::invalid_argument,
                            "revkv: cannot listen on " + config.client_host + ":" +
                                std::to_string(config.client_port) + ": " +
                                sys.render(bound.error())};
    }
    doorman = std::move(*bound);
  }

  std::unique_ptr<Node> node(new Node(sys, ctx));
  if (doorman) node->client_port_ = doorman->port();
  // The starting revision is passed, not read from ctx at the actor's start: CAF runs a
  // detached actor's initialisation on its own thread later, when a shard may already have
  // taken a revision.
  node->backend_ = spawn_backend_actor(sys, ctx, recovered->current);
  node->routes_.backend = node->backend_;
  for (size_t i = 0; i < config.options.shards; ++i) {
    node->routes_.shards.push_back(spawn_shard_actor(sys, ctx, i, node->backend_));
  }
  node->routes_.coordinator =
      spawn_coordinator_actor(sys, ctx, node->routes_.shards, node->backend_);
  node->routes_.watch_hub = spawn_watch_hub(sys, ctx, node->routes_.shards, recovered->current);
  caf::anon_send(node->backend_, hub_atom::value, node->routes_.watch_hub);
  node->routes_.maintenance =
      spawn_maintenance_actor(sys, ctx, node->routes_.shards, node->routes_.watch_hub,
                              node->backend_, recovered->unfinished_compaction);
  node->routes_.lessor =
      spawn_lessor_actor(sys, ctx, node->routes_.shards, node->routes_.coordinator, node->backend_,
                         ctx->leases.all(), config.clock);
  node->routes_.auth = spawn_auth_runner(sys, ctx);
  if (config.listen) node->acceptor_ = spawn_acceptor(sys, std::move(doorman), ctx, node->routes_);
  // Last, so that it can tell the acceptor; an actor that died before it looks is reported
  // all the same (monitoring a dead actor delivers its down message at once).
  node->supervisor_ = spawn_supervisor_actor(sys, ctx, node->core_actors(), node->acceptor_,
                                             std::move(config.on_failure));
  return node;
}

std::vector<NamedActor> Node::core_actors() const {
  std::vector<NamedActor> out;
  out.emplace_back("backend", backend_);
  for (size_t i = 0; i < routes_.shards.size(); ++i)
    out.emplace_back("shard:" + std::to_string(i), routes_.shards[i]);
  out.emplace_back("coordinator", routes_.coordinator);
  out.emplace_back("maintenance", routes_.maintenance);
  out.emplace_back("watch_hub", routes_.watch_hub);
  out.emplace_back("lessor", routes_.lessor);
  return out;
}

void Node::adopt_connection(int fd, std::optional<std::string> certificate_cn) const {
  if (!acceptor_) {
    ::close(fd);
    return;
  }
  caf::anon_send(acceptor_, adopt_atom::value, fd, CertificateName{std::move(certificate_cn)});
}

void Node::drain_sessions(const DrainHoldPtr& hold) const {
  if (acceptor_) caf::anon_send(acceptor_, leader_lost_atom::value, hold);
}

bool Node::kill_for_test(std::string_view name) const {
  for (const auto& [actor_name, actor] : core_actors()) {
    if (actor_name == name) {
      caf::anon_send_exit(actor, caf::exit_reason::kill);
      return true;
    }
  }
  return false;
}

Node::~Node() {
  auto status = stop();
  (void)status;  // a destructor cannot report; callers who care call stop() first
}

void Node::stop_accepting() {
  if (accepting_stopped_) return;
  accepting_stopped_ = true;
  caf::scoped_actor self{sys_, /*hide=*/true};
  // 0. Stop supervising first: the actors stopped below are not failures. Waiting for its
  // down message means it can report nothing any more.
  if (supervisor_) {
    self->monitor(supervisor_);
    self->send_exit(supervisor_, caf::exit_reason::user_shutdown);
    self->receive([](const caf::down_msg&) {});
  }
  // 1. Stop accepting; sessions finish what they have in flight and close.
  if (acceptor_) {
    self->monitor(acceptor_);
    self->send(acceptor_, shutdown_atom::value);
    self->receive([](const caf::down_msg&) {});
  }
}

storage::Status Node::stop() {
  if (stopped_) return {};
  stopped_ = true;
  stop_accepting();
  caf::scoped_actor self{sys_, /*hide=*/true};
  // 2. The writers: a compaction in progress resumes at the next start. They stop together,
  // so one may find another stopped under a request (actors::fatal_unless_stopped).
  ctx_->stopping.store(true);
  std::vector<caf::actor> actors = routes_.shards;
  actors.push_back(routes_.lessor);
  actors.push_back(routes_.coordinator);
  actors.push_back(routes_.maintenance);
  actors.push_back(routes_.watch_hub);
  actors.push_back(routes_.auth);
  actors.push_back(backend_);
  for (const auto& a : actors) {
    self->monitor(a);
    self->send_exit(a, caf::exit_reason::user_shutdown);
  }
  for (size_t i = 0; i < actors.size(); ++i)
    self->receive([](const caf::down_msg&) {});
  // 3. Everything acknowledged is durable already; sync anyway (interval/never modes).
  auto synced = ctx_->backend->sync_wal();
  auto closed = ctx_->backend->close();
  if (!synced.ok()) return synced;
  return closed;
}

}  // namespace revkv::actors
