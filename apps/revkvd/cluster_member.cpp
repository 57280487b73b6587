#include "apps/revkvd/cluster_member.hpp"

#include "actors/auth_replication.hpp"
#include "actors/forwarding.hpp"
#include "actors/read_index_actor.hpp"
#include "actors/state_change.hpp"
#include "apps/revkvd/forwarder.hpp"
#include "apps/revkvd/publish_intake.hpp"
#include "cluster/peer_tls.hpp"

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <stdexcept>
#include <utility>

namespace revkv::apps {
namespace {

// etcd's words for what a client sees (etcd's rpctypes).
std::string describe(const cluster::Outcome& outcome) {
  switch (outcome.code) {
    case cluster::Errc::not_leader:
      return "etcdserver: not leader";
    case cluster::Errc::leader_changed:
      return "etcdserver: leader changed";
    case cluster::Errc::shutting_down:
      return "etcdserver: server stopped";
    default:
      return "etcdserver: " + outcome.message;
  }
}

// etcd's answers to MoveLeader (etcdserver/errors.go; v3rpc maps them to gRPC codes).
std::string describe_transfer(const cluster::Outcome& outcome) {
  switch (outcome.code) {
    case cluster::Errc::not_leader:
      return "etcdserver: not leader";
    case cluster::Errc::shutting_down:
      return "etcdserver: server stopped";
    case cluster::Errc::invalid:
      return "etcdserver: bad leader transferee";
    default:
      // libraft gave up (the target did not win an election in time): etcd's words when its
      // own wait for the new leader runs out.
      return "etcdserver: request timed out, leader transfer took too long";
  }
}

// Test-only knobs (docs/CLUSTER.md "Tests"): the catch-up tests compact the log after a few
// dozen entries instead of 8192. Unset in production.
unsigned test_knob(const char* name, unsigned fallback) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return fallback;
  try {
    return static_cast<unsigned>(std::stoul(value));
  } catch (const std::exception&) {
    throw std::runtime_error(std::string(name) + ": not a number: '" + value + "'");
  }
}
// How long the leader waits for a follower's published attributes to commit before it
// answers `request timed out` (the follower tries again); within the follower's own bound on
// the exchange (apps/revkvd/follower_publisher.cpp).
constexpr std::chrono::milliseconds kPublishCommitWait{5000};

// The read lease is this share of the election timeout (actors/cluster_link.hpp): the
// margin covers the members' clocks running at slightly different rates.
constexpr double kReadLeaseShare = 0.8;

std::uint64_t random_incarnation() {
  std::random_device rd;
  std::uint64_t v = (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
  return v == 0 ? 1 : v;
}

// The member's Raft id, kept in DATA_DIR/member-id from its first start: a member keeps its
// id whatever --initial-cluster-state says later (etcd too ignores the flag once the data
// directory holds a member), so one bootstrapped with `new` and restarted with `existing`
// is not taken for a joined one.
std::uint64_t persistent_member_id(const DaemonOptions& options) {
  const auto dir = std::filesystem::path(options.node.data_dir);
  const auto file = dir / "member-id";
  std::error_code ec;
  if (std::filesystem::exists(file, ec)) {
    std::ifstream in(file);
    std::string text;
    in >> text;
    try {
      std::size_t used = 0;
      auto id = std::stoull(text, &used, 16);
      if (used == text.size() && id != 0) return id;
    } catch (const std::exception&) {
    }
    throw std::runtime_error(file.string() + ": not a member id ('" + text + "')");
  }
  std::filesystem::create_directories(dir);
  const auto temporary = dir / "member-id.tmp";
  {
    std::ofstream out(temporary, std::ios::trunc);
    out << std::hex << options.member_id << "\n";
    out.flush();
    if (!out) throw std::runtime_error("cannot write " + temporary.string());
  }
  std::filesystem::rename(temporary, file);
  return options.member_id;
}

}  // namespace

std::shared_ptr<actors::ClusterLink> make_cluster_link(const DaemonOptions& options) {
  auto link = std::make_shared<actors::ClusterLink>();
  link->member_id = persistent_member_id(options);
  link->incarnation = random_incarnation();
  std::map<std::uint64_t, std::string> names;
  std::vector<actors::ClusterLink::Member> members;
  for (const auto& m : options.initial_cluster) {
    names[m.id] = m.name;
    // Until the Raft member reports its configuration: the bootstrap one. A joining member
    // knows none yet (the leader's log brings it).
    if (!options.join) members.push_back({m.id, "", "http://" + m.address, false});
  }
  link->set_initial_names(std::move(names));
  link->set_members(std::move(members));
  return link;
}

ClusterMember::ClusterMember(caf::actor_system& sys, actors::Node& node,
                             const DaemonOptions& options,
                             std::shared_ptr<tls::ServerCredentials> peer_credentials,
                             std::function<void()> restart, std::function<void()> removed)
    : on_removed_(std::move(removed)) {
  const cluster::RaftConfig defaults;
  const unsigned threshold =
      test_knob("REVKV_TEST_SNAPSHOT_THRESHOLD", defaults.snapshot_threshold);
  const unsigned trailing = test_knob("REVKV_TEST_SNAPSHOT_TRAILING", defaults.snapshot_trailing);
  const unsigned install_timeout =
      test_knob("REVKV_TEST_INSTALL_SNAPSHOT_TIMEOUT_MS", defaults.install_snapshot_timeout_ms);
  // A test hook, inert unless its variable is set (tests/cluster/membership_cluster_test.cpp).
  fail_next_removal_.store(test_knob("REVKV_TEST_FAIL_REMOVAL", 0) != 0);
  const auto& ctx = node.context();
  ctx_ = ctx;
  link_ = ctx->cluster;
  if (!link_) throw std::runtime_error("the node was started without a cluster link");
  link_->propose = [this](std::string entry) -> actors::ClusterLink::Proposed {
    auto outcome = raft_->propose(std::move(entry)).get();
    if (outcome.ok()) return {outcome.index, std::nullopt};
    return {0, describe(outcome)};
  };
  link_->propose_then = [this](std::string entry,
                               std::function<void(actors::ClusterLink::Proposed)> done) {
    raft_->propose(std::move(entry), [done = std::move(done)](cluster::Outcome outcome) {
      if (outcome.ok()) return done({outcome.index, std::nullopt});
      done({0, describe(outcome)});
    });
  };
  link_->barrier = [this](std::function<void(bool)> done) {
    {
      std::lock_guard lock(mutex_);
      if (!quit_) {
        read_barriers_.push_back(std::move(done));
        wake_.notify_all();
        return;
      }
    }
    done(false);
  };
  link_->transfer = [this](std::uint64_t target,
                           std::function<void(std::optional<std::string>)> done) {
    {
      std::lock_guard lock(mutex_);
      if (!quit_) {
        transfers_.push_back({target, std::move(done)});
        wake_.notify_all();
        return;
      }
    }
    done("etcdserver: server stopped");
  };
  link_->change_members = [this](
                              actors::ClusterLink::MemberChange change,
                              std::function<void(actors::ClusterLink::MemberChangeResult)> done) {
    {
      std::lock_guard lock(mutex_);
      if (!quit_) {
        changes_.push_back({std::move(change), std::move(done)});
        wake_.notify_all();
        return;
      }
    }
    actors::ClusterLink::MemberChangeResult stopped;
    stopped.code = 14;
    stopped.message = "etcdserver: server stopped";
    done(std::move(stopped));
  };
  link_->on_removed = [this] {
    if (!removal_announced_.exchange(true) && on_removed_) on_removed_();
  };
  // A barrier started from now, for its commit alone: a lease renewal, or the commit index
  // carried to the followers. One asked for and not yet started serves every later ask.
  auto ask_barrier = [this] {
    if (barrier_asked_.exchange(true)) return;
    std::lock_guard lock(mutex_);
    if (quit_) return;
    read_barriers_.push_back([](bool) {});
    wake_.notify_all();
  };
  link_->renew_read_lease = ask_barrier;
  link_->announce_commit = ask_barrier;
  link_->read_index = actors::spawn_read_index_actor(sys, link_);
  // Catch-up (docs/CLUSTER.md "Catch-up from a peer's checkpoint"): this member's store for
  // members behind the leader's compacted log, on the peer host; and the fetcher for when
  // this member is the one behind.
  tls::ClientConfig catchup_tls;
  if (peer_credentials) {
    catchup_tls.enabled = true;
    catchup_tls.ca_file = options.peer_tls.trusted_ca_file;
    catchup_tls.cert_file = options.peer_tls.cert_file;
    catchup_tls.key_file = options.peer_tls.key_file;
  }
  const std::filesystem::path data_dir(options.node.data_dir);
  fetcher_ = std::make_unique<CheckpointFetcher>(data_dir, catchup_tls, std::move(restart));
  peer_tls_ = peer_credentials != nullptr;
  // The publish requests of followers arrive there too (docs/CLUSTER.md "Membership").
  source_ =
      open_checkpoint_source(*ctx->backend, data_dir, options.catchup_host, options.catchup_port,
                             peer_credentials, [this](std::string_view payload, X509* certificate) {
                               return take_publish(payload, certificate);
                             });
  spdlog::info("cluster: catch-up port {}", source_->address());
  publisher_ = std::make_unique<FollowerPublisher>(link_, catchup_tls);
  try {
    replica_ = std::make_unique<Replica>(sys, node, source_->address(), *fetcher_);
  } catch (...) {
    // Refused (a removed member's store, an unreadable one): what started above ends, or
    // the read-index actor would keep the actor system, and the process, from ending.
    caf::anon_send_exit(link_->read_index, caf::exit_reason::user_shutdown);
    link_->read_index = nullptr;
    source_->stop();
    throw;
  }
  gate_ = std::thread([this] { gate_loop(); });
  transferrer_ = std::thread([this] { transfer_loop(); });

  cluster::RaftConfig config;
  config.id = link_->member_id;
  config.address = options.peer_address;
  config.bind_address = options.peer_listen;
  config.dir = std::filesystem::path(options.node.data_dir) / "raft";
  config.initial_cluster = options.initial_cluster;
  config.join = options.join;
  config.on_status_change = [this](const cluster::NodeStatus& status) { observe(status); };
  config.on_stall = [](const std::string& line) { spdlog::warn("cluster: {}", line); };
  config.snapshot_threshold = threshold;
  config.snapshot_trailing = trailing;
  config.install_snapshot_timeout_ms = install_timeout;
  config.election_timeout_ms = options.election_timeout_ms;
  config.heartbeat_timeout_ms = options.heartbeat_interval_ms;
  link_->read_lease_ns =
      static_cast<int64_t>(config.election_timeout_ms * kReadLeaseShare) * 1'000'000;
  link_->forwarded_apply_wait = std::chrono::milliseconds(config.election_timeout_ms);
  // A restarted member has forgotten which leader it last heard from, so libraft would let it
  // vote at once; a leader whose read lease this member's earlier life helped to grant could
  // then still be answering reads beside a new leader. Waiting one election timeout before
  // taking part ends every such lease (docs/CLUSTER.md "Linearizable reads"). A pristine
  // directory has never acknowledged anything.
  std::error_code ec;
  if (!std::filesystem::is_empty(config.dir, ec) && !ec) {
    spdlog::info("cluster: waiting {} ms (one election timeout) before rejoining",
                 config.election_timeout_ms);
    std::this_thread::sleep_for(std::chrono::milliseconds(config.election_timeout_ms));
  }
  if (peer_credentials) {
    auto peer = std::make_shared<cluster::PeerTls>();
    peer->server = std::move(peer_credentials);
    // Outgoing: the same certificate as the client's, the same CA for the peer's.
    peer->client.enabled = true;
    peer->client.ca_file = options.peer_tls.trusted_ca_file;
    peer->client.cert_file = options.peer_tls.cert_file;
    peer->client.key_file = options.peer_tls.key_file;
    // peer->dial_timeout stays at its 2 s: a handshake on a loaded machine may take longer
    // than an election timeout, and a slow attempt only delays this one connection.
    config.peer_tls = std::move(peer);
  }
  try {
    raft_ = std::make_unique<cluster::RaftNode>(std::move(config), *replica_);
  } catch (...) {
    {
      std::lock_guard lock(mutex_);
      quit_ = true;
    }
    wake_.notify_all();
    gate_.join();
    transferrer_.join();
    for (auto& transfer : std::exchange(transfers_, {}))
      transfer.done("etcdserver: server stopped");
    caf::anon_send_exit(link_->read_index, caf::exit_reason::user_shutdown);
    link_->read_index = nullptr;
    source_->stop();
    // libraft's own words ("load open segment ...") do not say what happened.
    if (!replica_->start_failure().empty()) throw std::runtime_error(replica_->start_failure());
    throw;
  }
  replica_->started();
  std::vector<PeerProber::Peer> peers;
  for (const auto& m : options.initial_cluster)
    if (m.id != link_->member_id) peers.push_back({m.id, m.address});
  prober_ = std::make_unique<PeerProber>(std::move(peers), link_->peer_round_trips);
  // Once nothing above can fail (the doors do not serve yet): what a follower forwards.
  ForwarderOptions forwarding;
  // The leader's doors speak TLS when this member's do (every member runs the same client
  // TLS flags): its certificate is checked against --trusted-ca-file, and this member's own
  // certificate is presented when the leader asks for one (--client-cert-auth).
  forwarding.tls.ca_file = options.tls.trusted_ca_file;
  forwarding.tls.cert_file = options.tls.cert_file;
  forwarding.tls.key_file = options.tls.key_file;
  auto forwarders = spawn_forwarder(sys, link_, std::move(forwarding));
  link_->forwarder = forwarders.pool;
  // Membership changes a follower is asked for go to the leader (actors/cluster_api.hpp).
  link_->forward_call = [worker = caf::actor_cast<caf::weak_actor_ptr>(forwarders.cluster)](
                            std::string method, std::string body, std::optional<std::string> token,
                            std::function<void(actors::ClusterLink::ForwardedCall)> done) {
    auto reply = std::make_shared<actors::ClusterReply>(std::move(done));
    // A forwarder that ended already: the reply answers "server stopped" as it goes.
    if (auto target = caf::actor_cast<caf::actor>(worker))
      caf::anon_send(target, actors::forward_cluster_atom::value,
                     actors::ClusterForwardCall{std::move(method), std::move(body),
                                                std::move(token), std::move(reply)});
  };
  // Before the doors serve: the auth store's changes and Authenticate are forwarded too.
  actors::replicate_auth(*node.context(), forwarders.auth);
  {
    std::lock_guard lock(mutex_);
    raft_ready_ = true;
  }
  wake_.notify_all();
}

ClusterMember::~ClusterMember() {
  stop();
}

void ClusterMember::stop() {
  if (!gate_.joinable()) return;
  link_->stopping.store(true);
  link_->leader.store(false);
  if (prober_) prober_->stop();
  publisher_->stop();
  {
    std::lock_guard lock(mutex_);
    quit_ = true;
  }
  wake_.notify_all();
  // A fetch that libraft's loop thread runs (Replica::restore) ends first: stopping the
  // Raft member waits for that thread.
  fetcher_->cancel();
  raft_->stop();    // ends a barrier the gate, or a transfer, may be waiting for
  source_->stop();  // before the store closes: a transfer reads its checkpoint
  gate_.join();
  transferrer_.join();
  for (auto& done : std::exchange(read_barriers_, {}))
    done(false);
  for (auto& transfer : std::exchange(transfers_, {}))
    transfer.done("etcdserver: server stopped");
  for (auto& change : std::exchange(changes_, {})) {
    actors::ClusterLink::MemberChangeResult stopped;
    stopped.code = 14;
    stopped.message = "etcdserver: server stopped";
    change.done(std::move(stopped));
  }
  caf::anon_send_exit(link_->read_index, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(link_->forwarder, caf::exit_reason::user_shutdown);
}

void ClusterMember::serving(actors::MemberAttributes own) {
  own.id = link_->member_id;
  own.catchup = source_->address();
  // A follower's way; while this member leads it has nothing to do (the gate's way below).
  publisher_->publish(own);
  std::lock_guard lock(mutex_);
  own_ = std::move(own);
  publish_wanted_ = true;
  wake_.notify_all();
}

std::string ClusterMember::take_publish(std::string_view payload, X509* certificate) {
  return take_published_attributes(
      *link_, payload, certificate, peer_tls_,
      [this](std::string entry) -> std::optional<std::string> {
        // Called only while this member leads (checked first), so the Raft member exists.
        auto proposed = raft_->propose(std::move(entry));
        if (proposed.wait_for(kPublishCommitWait) != std::future_status::ready)
          return "etcdserver: request timed out";
        auto outcome = proposed.get();
        if (!outcome.ok()) return describe(outcome);
        return std::nullopt;
      });
}

void ClusterMember::publish(const actors::MemberAttributes& own) {
  // Idempotent and bounded: nothing is proposed when the log already holds these.
  if (link_->attributes_of(own.id) == own) return;
  auto payload = actors::encode_member_attributes(own);
  auto proposed = link_->propose(actors::encode_state_change(
      {link_->member_id, link_->incarnation, actors::ChangeKind::member, payload}));
  if (proposed.error) {
    // The next leadership publishes them again.
    spdlog::warn("cluster: client addresses not published: {}", *proposed.error);
    return;
  }
  spdlog::info("cluster: published client addresses client={} grpc={}", own.client, own.grpc);
}

void ClusterMember::observe(const cluster::NodeStatus& status) {
  auto& link = *link_;
  std::lock_guard lock(mutex_);
  if (!status.configuration.empty()) {
    std::vector<actors::ClusterLink::Member> members;
    bool listed = false;
    for (const auto& server : status.configuration) {
      listed |= server.id == link.member_id;
      members.push_back({server.id, "", "http://" + server.address,
                         server.membership != cluster::Membership::voter});
    }
    link.set_members(std::move(members));
    if (listed) {
      was_member_ = true;
    } else if (was_member_ && !removed_) {
      // etcd's removed member stops; so does this one (it would otherwise keep serving
      // reads as a member that is none). A removed leader sees it here; a follower usually
      // first applies the removal entry the leader proposes before (run_change).
      removed_ = true;
      spdlog::error("cluster: this member ({:x}) was removed from the cluster; stopping",
                    link.member_id);
      link.leader.store(false);
      if (!removal_announced_.exchange(true) && on_removed_) on_removed_();
    }
  }
  uint64_t previous = link.leader_id.exchange(status.leader_id);
  if (status.leader_id != 0 && status.leader_id != previous) link.leader_changes.fetch_add(1);
  // A follower whose attributes are not in the log yet tries the new leader now.
  if (status.leader_id != previous) publisher_->leader_changed();
  link.term.store(status.term);
  std::uint64_t was_leading = leading_term_;
  leading_term_ = status.role == cluster::Role::leader ? status.term : 0;
  if (leading_term_ != was_leading) {
    link.leadership_epoch.fetch_add(1);
    link.read_lease_until.store(0);
    // Leading another term (this observer may have missed the follower state in between)
    // starts over as any new leadership does: not serving until the gate's barrier of the
    // new term is applied and W reached what it covers.
    link.leader.store(false);
  }
  if (leading_term_ == 0) {
    link.leader.store(false);
    return;
  }
  if (link.leader.load()) return;
  wanted_term_ = status.term;
  wake_.notify_all();
}

void ClusterMember::gate_loop() {
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [this] {
      return quit_ || (raft_ready_ && (wanted_term_ != 0 || !read_barriers_.empty() ||
                                       (publish_wanted_ && own_ && link_->leader.load())));
    });
    if (quit_) return;
    if (wanted_term_ == 0 && publish_wanted_ && own_ && link_->leader.load()) {
      publish_wanted_ = false;
      auto own = *own_;
      lock.unlock();
      publish(own);
      lock.lock();
      continue;
    }
    if (wanted_term_ == 0) {
      // Reads (and lease renewals, commit announcements): one barrier for every ask until now.
      auto reads = std::exchange(read_barriers_, {});
      barrier_asked_.store(false);
      auto outcome = lease_barrier(lock, leading_term_);
      bool confirmed = outcome.ok() && link_->leader.load();
      lock.unlock();
      for (auto& done : reads)
        done(confirmed);
      lock.lock();
      continue;
    }
    std::uint64_t term = std::exchange(wanted_term_, 0);
    // Applied here, the barrier covers every entry committed before this term began.
    auto outcome = lease_barrier(lock, term);
    // Under the lock observe() takes: still leading in that term, as it last heard.
    if (outcome.ok() && leading_term_ == term) {
      // Reads at W must cover what the predecessors acknowledged before the lease starts.
      if (!await_applied_watermark(lock, term)) continue;
      // observe() may have asked for this term's barrier again meanwhile: it ran.
      if (wanted_term_ == term) wanted_term_ = 0;
      link_->leader.store(true);
      publish_wanted_ = true;  // once per leadership
      removals_wanted_ = true;
      wake_.notify_all();
      spdlog::info("cluster: leading in term {} from applied index {}", term, outcome.index);
    } else if (!outcome.ok()) {
      spdlog::warn("cluster: not serving as leader of term {}: {}", term, describe(outcome));
    }
  }
}

bool ClusterMember::await_applied_watermark(std::unique_lock<std::mutex>& lock,
                                            std::uint64_t term) {
  // Every entry before the barrier is applied: their revisions are in the counter.
  const int64_t applied = ctx_->last_revision.load();
  // Slices only to notice quit_ and a lost leadership; W itself wakes the wait.
  constexpr auto kSlice = std::chrono::milliseconds(100);
  for (int slice = 0; !quit_ && leading_term_ == term; ++slice) {
    lock.unlock();
    bool reached = link_->wait_for_watermark(ctx_->watermark, applied,
                                             std::chrono::steady_clock::now() + kSlice);
    lock.lock();
    if (reached) return !quit_ && leading_term_ == term;
    if (slice == 10)
      spdlog::warn("cluster: leader of term {} still waiting for W ({}) to reach revision {}", term,
                   ctx_->watermark.load(), applied);
  }
  return false;
}

cluster::Outcome ClusterMember::lease_barrier(std::unique_lock<std::mutex>& lock,
                                              std::uint64_t term) {
  std::uint64_t transfers = transfers_started_;
  int64_t started = actors::ClusterLink::steady_now_ns();
  lock.unlock();
  auto outcome = raft_->barrier().get();
  lock.lock();
  if (outcome.ok() && term != 0 && leading_term_ == term && !transferring_ &&
      transfers_started_ == transfers) {
    int64_t until = started + link_->read_lease_ns;
    if (until > link_->read_lease_until.load()) link_->read_lease_until.store(until);
  }
  return outcome;
}

void ClusterMember::transfer_loop() {
  std::unique_lock lock(mutex_);
  for (;;) {
    // Promotions and unfinished removals are retried every 500 ms.
    const bool retry = !promotions_.empty() || !link_->pending_removals().empty();
    wake_.wait_for(lock, std::chrono::milliseconds(retry ? 500 : 60'000), [this] {
      return quit_ ||
             (raft_ready_ && (!transfers_.empty() || !changes_.empty() || removals_wanted_));
    });
    if (quit_) return;
    if (!raft_ready_) continue;
    if (!changes_.empty() || transfers_.empty()) {
      std::optional<Change> change;
      if (!changes_.empty()) {
        change = std::move(changes_.front());
        changes_.erase(changes_.begin());
      }
      removals_wanted_ = false;
      lock.unlock();
      if (change) change->done(run_change(change->change));
      run_promotions();
      finish_removals();
      lock.lock();
      continue;
    }
    auto transfer = std::move(transfers_.front());
    transfers_.erase(transfers_.begin());
    // The target is told to start an election that disrupts this leader: from now on, no
    // read may rely on the lease.
    transferring_ = true;
    ++transfers_started_;
    link_->read_lease_until.store(0);
    lock.unlock();
    auto outcome = raft_->transfer(transfer.target).get();
    {
      std::lock_guard relock(mutex_);
      transferring_ = false;
    }
    if (outcome.ok()) {
      spdlog::info("cluster: leadership moved to member {:x}", transfer.target);
      transfer.done(std::nullopt);
    } else {
      spdlog::warn("cluster: leadership transfer to member {:x} failed: {}", transfer.target,
                   outcome.message);
      transfer.done(describe_transfer(outcome));
    }
    lock.lock();
  }
}

namespace {

actors::ClusterLink::MemberChangeResult change_error(int64_t code, std::string message) {
  actors::ClusterLink::MemberChangeResult out;
  out.code = code;
  out.message = std::move(message);
  return out;
}

// gRPC codes (the doors map them back).
constexpr int64_t kNotFound = 5, kFailedPrecondition = 9, kUnavailable = 14, kUnknown = 2;

actors::ClusterLink::MemberChangeResult failed_change(const cluster::Outcome& outcome) {
  switch (outcome.code) {
    case cluster::Errc::not_leader:
      return change_error(kUnavailable, "etcdserver: not leader");
    case cluster::Errc::leader_changed:
      return change_error(kUnavailable, "etcdserver: leader changed");
    case cluster::Errc::shutting_down:
      return change_error(kUnavailable, "etcdserver: server stopped");
    default:
      // libraft's words: another change not committed yet ("a configuration change is
      // already in progress"), ...
      return change_error(kUnknown, "etcdserver: " + outcome.message);
  }
}

}  // namespace

actors::ClusterLink::MemberChangeResult ClusterMember::run_change(
    const actors::ClusterLink::MemberChange& change) {
  using Kind = actors::ClusterLink::MemberChange::Kind;
  if (!link_->leader.load()) return change_error(kUnavailable, "etcdserver: not leader");
  const auto status = raft_->status().get();
  const cluster::ServerInfo* target = nullptr;
  for (const auto& server : status.configuration) {
    if (change.kind == Kind::add ? server.address == change.peer_address : server.id == change.id)
      target = &server;
  }
  actors::ClusterLink::MemberChangeResult out;
  switch (change.kind) {
    case Kind::add: {
      if (target) return change_error(kFailedPrecondition, "etcdserver: Peer URLs already exists");
      const auto id = cluster::joined_member_id(change.peer_address);
      for (const auto& server : status.configuration)
        if (server.id == id)
          return change_error(kFailedPrecondition, "etcdserver: member ID already exist");
      auto added = raft_->add(id, change.peer_address).get();
      if (!added.ok()) return failed_change(added);
      // A standby at once, whether a learner or a voter was asked for: libraft promotes a
      // voter only once it has caught up with the log, which a member that is not started
      // yet cannot; the transfer thread promotes it as soon as it has (run_promotions).
      auto assigned = raft_->assign(id, cluster::Membership::standby).get();
      if (!assigned.ok()) return failed_change(assigned);
      if (!change.learner) {
        std::lock_guard lock(mutex_);
        promotions_.push_back(id);
      }
      spdlog::info("cluster: added member {:x} at {} as a {}", id, change.peer_address,
                   change.learner ? "learner" : "voter (a standby until it has caught up)");
      out.member = {id, "", "http://" + change.peer_address, change.learner};
      break;
    }
    case Kind::remove: {
      if (!target) return change_error(kNotFound, "etcdserver: member not found");
      // etcd's strict reconfiguration check, in its one case that matters here: the last
      // voter cannot go (no quorum would be left to commit anything, this change included).
      if (target->membership == cluster::Membership::voter) {
        size_t other_voters = 0;
        for (const auto& server : status.configuration)
          other_voters += server.id != change.id && server.membership == cluster::Membership::voter;
        if (other_voters == 0)
          return change_error(kUnknown,
                              "etcdserver: re-configuration failed due to not enough started "
                              "members");
      }
      // libraft stops replicating to a member as soon as the configuration without it is
      // appended, so the member itself would never learn of its removal. It is told first,
      // through the log: a `removal` state change every member applies (recorded in each
      // store: the removed one refuses to start on it again). A follower stops on applying
      // it; the leader removing itself stops once the configuration without it committed
      // (observe), and a write of its own that fails meanwhile ends it
      // (actors::exit_removed) rather than restarting it in place.
      const bool self = change.id == link_->member_id;
      if (self) link_->removing_self.store(true);
      auto payload = actors::encode_removal_payload(change.id);
      auto proposed = link_->propose(actors::encode_state_change(
          {link_->member_id, link_->incarnation, actors::ChangeKind::removal, payload}));
      if (proposed.error) {
        if (self) {
          link_->removing_self.store(false);
          // Applied all the same (the answer was lost): it stops, as a follower would.
          if (link_->removed.load() && !removal_announced_.exchange(true) && on_removed_)
            on_removed_();
        }
        return change_error(kUnavailable, *proposed.error);
      }
      if (!self) {
        auto told = tell_removed(change.id);
        if (!told.ok()) return failed_change(told);
      }
      cluster::Outcome removed;
      if (fail_next_removal_.exchange(false)) {
        spdlog::warn("cluster: REVKV_TEST_FAIL_REMOVAL: the removal of {:x} fails here", change.id);
        removed = {cluster::Errc::leader_changed, 0, "test hook"};
      } else {
        removed = raft_->remove(change.id).get();
      }
      if (!removed.ok()) {
        // The removal entry is the point of no return: the removed member applied it and
        // stops (a leader removing itself stops here), and every member that applied it
        // holds it as pending (ClusterLink::note_removal). Whoever leads finishes the
        // change (finish_removals: this leader on its next round, or the next leader once
        // elected). The client gets the error: the outcome is the one of a timed-out change
        // in etcd, and a retry answers "member not found" once it is finished.
        if (self && !removal_announced_.exchange(true) && on_removed_) on_removed_();
        return failed_change(removed);
      }
      std::lock_guard lock(mutex_);
      std::erase(promotions_, change.id);
      spdlog::info("cluster: removed member {:x}", change.id);
      break;
    }
    case Kind::promote: {
      if (!target) return change_error(kNotFound, "etcdserver: member not found");
      if (target->membership == cluster::Membership::voter)
        return change_error(kFailedPrecondition, "etcdserver: can only promote a learner member");
      // libraft catches the member up first (up to 30 s) and fails if it cannot: etcd's
      // "in sync with leader" refusal.
      auto promoted = raft_->assign(change.id, cluster::Membership::voter).get();
      if (!promoted.ok()) {
        if (promoted.code == cluster::Errc::failed || promoted.code == cluster::Errc::invalid)
          return change_error(kFailedPrecondition,
                              "etcdserver: can only promote a learner member which is in sync "
                              "with leader");
        return failed_change(promoted);
      }
      std::lock_guard lock(mutex_);
      std::erase(promotions_, change.id);
      spdlog::info("cluster: promoted member {:x} to voter", change.id);
      break;
    }
  }
  out.members = link_->members();
  return out;
}

cluster::Outcome ClusterMember::tell_removed(std::uint64_t id) {
  // A barrier, and the leader waits (bounded: the member may be down) until the member has
  // stored it: that append carried a commit index past the removal entry.
  auto barrier = raft_->barrier().get();
  if (!barrier.ok()) return barrier;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (std::chrono::steady_clock::now() < deadline &&
         raft_->match_index(id).get() < barrier.index)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  return barrier;
}

void ClusterMember::finish_removals() {
  auto pending = link_->pending_removals();
  if (pending.empty() || !link_->leader.load()) return;
  const auto status = raft_->status().get();
  for (auto id : pending) {
    // A leader that applied its own removal stops (run_change); the next leader finishes it.
    if (id == link_->member_id) continue;
    bool listed = std::any_of(status.configuration.begin(), status.configuration.end(),
                              [id](const cluster::ServerInfo& s) { return s.id == id; });
    if (!listed) continue;  // done; observe() clears it
    // No barrier: with the removed member stopped, a two-member configuration could not
    // commit one. This leader's own first barrier of its term follows the removal entry;
    // once the member stored it (bounded: it has usually stopped already), the next append
    // tells it the removal committed.
    const auto applied = link_->applied_index.load();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (std::chrono::steady_clock::now() < deadline && raft_->match_index(id).get() < applied)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    auto removed = raft_->remove(id).get();
    if (removed.ok()) {
      spdlog::info(
          "cluster: finished removing member {:x} (its removal was applied, the "
          "configuration change had failed)",
          id);
    } else {
      // Retried every 500 ms while this member leads.
      spdlog::warn("cluster: removing member {:x} is not finished yet: {}", id, describe(removed));
    }
  }
}

void ClusterMember::run_promotions() {
  std::vector<std::uint64_t> waiting;
  {
    std::lock_guard lock(mutex_);
    waiting = promotions_;
  }
  if (waiting.empty() || !link_->leader.load()) return;
  const auto status = raft_->status().get();
  for (auto id : waiting) {
    const cluster::ServerInfo* server = nullptr;
    for (const auto& s : status.configuration)
      if (s.id == id) server = &s;
    bool done = server == nullptr || server->membership == cluster::Membership::voter;
    if (!done) {
      // Caught up: libraft's catch-up finishes in one round; not yet: it gives up after its
      // own bound and the next try starts over (every 500 ms at most).
      auto promoted = raft_->assign(id, cluster::Membership::voter).get();
      done = promoted.ok();
      if (done) spdlog::info("cluster: member {:x} caught up and is a voter now", id);
    }
    if (done) {
      std::lock_guard lock(mutex_);
      std::erase(promotions_, id);
    }
  }
}

}  // namespace revkv::apps
