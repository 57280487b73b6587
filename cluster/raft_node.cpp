#include "cluster/raft_node.hpp"

#include "cluster/entry_frame.hpp"
#include "cluster/libraft.hpp"
#include "cluster/loop_thread.hpp"
#include "cluster/members.hpp"
#include "cluster/nodelay_transport.hpp"
#include "cluster/peer_tls.hpp"
#include "cluster/progress_watch.hpp"
#include "cluster/snapshot_header.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <cassert>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <functional>
#include <mutex>
#include <netinet/in.h>
#include <signal.h>
#include <stdexcept>
#include <sys/socket.h>
#include <unistd.h>
#include <unordered_map>
#include <utility>

namespace revkv::cluster {

const char* role_name(Role role) {
  switch (role) {
    case Role::unavailable:
      return "unavailable";
    case Role::follower:
      return "follower";
    case Role::candidate:
      return "candidate";
    case Role::leader:
      return "leader";
  }
  return "?";
}

const char* membership_name(Membership membership) {
  switch (membership) {
    case Membership::voter:
      return "voter";
    case Membership::standby:
      return "standby";
    case Membership::spare:
      return "spare";
  }
  return "?";
}

const char* errc_name(Errc code) {
  switch (code) {
    case Errc::ok:
      return "ok";
    case Errc::not_leader:
      return "not leader";
    case Errc::leader_changed:
      return "leader changed";
    case Errc::shutting_down:
      return "shutting down";
    case Errc::invalid:
      return "invalid";
    case Errc::failed:
      return "failed";
  }
  return "?";
}

namespace {

Errc errc_of(int rv) {
  switch (rv) {
    case 0:
      return Errc::ok;
    case RAFT_NOTLEADER:
      return Errc::not_leader;
    case RAFT_LEADERSHIPLOST:
      return Errc::leader_changed;
    case RAFT_SHUTDOWN:
    case RAFT_CANCELED:
      return Errc::shutting_down;
    case RAFT_BADID:
    case RAFT_NOTFOUND:
    case RAFT_INVALID:
    case RAFT_MALFORMED:
    case RAFT_TOOBIG:
      return Errc::invalid;
    default:
      return Errc::failed;
  }
}

Outcome failure(int rv) {
  return Outcome{errc_of(rv), 0, raft_strerror(rv)};
}

Outcome shutting_down() {
  return Outcome{Errc::shutting_down, 0, "raft node is shutting down"};
}

[[noreturn]] void fatal(const char* what, const char* detail) {
  std::fprintf(stderr, "revkv cluster: fatal: %s: %s\n", what, detail);
  std::abort();
}

// Runs `body`, a callback libraft or libuv calls from C. A C++ exception must not unwind
// through their C frames (undefined behaviour, and their state would be left half-updated):
// one escaping the wrapper's own bookkeeping is a bug with no safe way on, so it aborts
// with a message instead.
template <class Body>
void from_c(const char* where, Body&& body) noexcept {
  try {
    body();
  } catch (const std::exception& e) {
    fatal(where, e.what());
  } catch (...) {
    fatal(where, "unknown exception");
  }
}

// The outcome of an entry libraft accepted (raft_apply or raft_barrier returned 0) and then
// failed. It is in the log, so whatever the reason it may still commit under another leader:
// never report it as "never appended" (shutting_down), always as leader_changed.
Outcome appended_failure(int rv) {
  Outcome out = failure(rv);
  if (out.code == Errc::shutting_down || out.code == Errc::not_leader)
    out.code = Errc::leader_changed;
  return out;
}

// libuv writes to peer sockets with plain write(2): a peer that closed its end raises
// SIGPIPE, whose default action ends the process. Raft treats a lost peer as a routine
// event, so the process must ignore the signal (revkvd does so too). A handler someone
// installed is left alone.
void ignore_sigpipe_once() {
  static const bool done = [] {
    struct sigaction current {};
    if (sigaction(SIGPIPE, nullptr, &current) == 0 && current.sa_handler == SIG_DFL) {
      signal(SIGPIPE, SIG_IGN);
    }
    return true;
  }();
  (void)done;
}

// "" when `address` (IPv4 HOST:PORT, as members are named) can be bound now; otherwise
// "; cannot listen on it: <why>". A peer port another process holds makes libraft's start
// fail with a bare I/O error.
std::string bind_problem(const std::string& address) {
  const auto colon = address.rfind(':');
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  if (colon == std::string::npos ||
      ::inet_pton(AF_INET, address.substr(0, colon).c_str(), &addr.sin_addr) != 1)
    return "";
  try {
    addr.sin_port = htons(static_cast<uint16_t>(std::stoi(address.substr(colon + 1))));
  } catch (const std::exception&) {
    return "";
  }
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return "";
  const int on = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);  // as libuv binds
  const bool bound = ::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0;
  const int error = errno;
  ::close(fd);
  return bound ? "" : "; cannot listen on it: " + std::string(std::strerror(error));
}

Role role_of(int state) {
  switch (state) {
    case RAFT_FOLLOWER:
      return Role::follower;
    case RAFT_CANDIDATE:
      return Role::candidate;
    case RAFT_LEADER:
      return Role::leader;
    default:
      return Role::unavailable;
  }
}

// A call waiting for libraft's callback. libraft holds a pointer to the request struct
// inside; the node keeps the operation alive in `pending` until the callback (or shutdown)
// settles it: its promise, or its `then` if it has one (then the promise is never read).
struct PendingOp {
  virtual ~PendingOp() = default;
  std::promise<Outcome> done;
  std::function<void(Outcome)> then;
  void* owner = nullptr;  // the RaftNode::Impl, for libraft's callbacks
  bool appended = false;  // an apply or barrier libraft accepted into its log
  bool settled = false;
  void settle(Outcome outcome) {
    if (settled) return;
    settled = true;
    if (then) {
      then(std::move(outcome));
      return;
    }
    done.set_value(std::move(outcome));
  }
};

struct ApplyOp : PendingOp {
  struct raft_apply req {};
};
struct BarrierOp : PendingOp {
  struct raft_barrier req {};
};
struct ChangeOp : PendingOp {
  struct raft_change req {};
};
struct TransferOp : PendingOp {
  struct raft_transfer req {};
  std::uint64_t target = 0;
};

}  // namespace

struct RaftNode::Impl {
  Impl(RaftConfig c, StateMachine& m) : config(std::move(c)), machine(m) {}

  RaftConfig config;
  StateMachine& machine;
  LoopThread loop;
  std::mutex stop_mutex;
  bool stopped = false;  // guarded by stop_mutex

  // Everything below is touched on the loop thread only (or before it starts).
  raft_uv_transport transport{};
  // With peer TLS, the transport's state (after `loop`: destroyed before it, once the loop
  // thread ended).
  std::unique_ptr<PeerTlsTransport> tls_transport;
  // Without it, libraft's raft_uv_tcp with TCP_NODELAY on each connection (the same
  // lifetime as tls_transport).
  std::unique_ptr<NoDelayTcpTransport> tcp_transport;
  raft_io io{};
  raft_fsm fsm{};
  raft node{};
  uv_timer_t ticker{};
  bool transport_ready = false, io_ready = false, raft_ready = false, ticker_ready = false;
  bool closing = false;
  std::chrono::steady_clock::time_point drain_deadline;
  std::unordered_map<PendingOp*, std::shared_ptr<PendingOp>> pending;
  Role seen_role = Role::unavailable;
  std::uint64_t seen_leader = 0, seen_term = 0;
  std::vector<ServerInfo> seen_configuration;
  std::unique_ptr<ProgressWatch> progress_watch;  // made by open()
  // Snapshot back-off (fsm_snapshot): after snapshot() failed at applied index N, the next
  // attempt waits until index N + snapshot_threshold.
  std::uint64_t snapshot_retry_at = 0;
  std::uint64_t snapshot_failures = 0;  // consecutive, for the log line

  void open();
  void begin_close();
  bool writes_in_flight();
  void close_raft();
  void finish_close();
  NodeStatus read_status();
  void observe();

  void start_apply(const std::shared_ptr<ApplyOp>& op, const std::string& entry);
  void start_barrier(const std::shared_ptr<BarrierOp>& op);
  void start_transfer(const std::shared_ptr<TransferOp>& op);
  // raft_add / raft_assign / raft_remove: `call` starts it with the op's request.
  void start_change(const std::shared_ptr<ChangeOp>& op,
                    const std::function<int(struct raft_change*, raft_change_cb)>& call);
  std::shared_ptr<PendingOp> take(PendingOp* op);

  static int fsm_apply(raft_fsm* fsm, const raft_buffer* buf, void** result);
  static int fsm_snapshot(raft_fsm* fsm, raft_buffer* bufs[], unsigned* n_bufs);
  static int fsm_restore(raft_fsm* fsm, raft_buffer* buf);
};

void RaftNode::Impl::open() {
  if (config.id == 0) throw std::invalid_argument("raft member id must not be 0");
  std::filesystem::create_directories(config.dir);
  ignore_sigpipe_once();

  int rv = 0;
  if (config.peer_tls) {
    PeerTls peer = *config.peer_tls;
    peer.bind_address = config.bind_address;
    tls_transport = std::make_unique<PeerTlsTransport>(&transport, loop, std::move(peer));
  } else {
    tcp_transport = std::make_unique<NoDelayTcpTransport>(&transport, loop.loop());
  }
  transport_ready = true;
  if (!config.peer_tls && !config.bind_address.empty() && config.bind_address != config.address) {
    // libraft binds its advertised address unless told otherwise (raft/uv.h).
    rv = tcp_transport->set_bind_address(config.bind_address);
    if (rv != 0) {
      throw std::runtime_error("raft peer bind address " + config.bind_address + ": " +
                               raft_strerror(rv));
    }
  }
  rv = raft_uv_init(&io, loop.loop(), config.dir.c_str(), &transport);
  if (rv != 0)
    throw std::runtime_error("raft storage in " + config.dir.string() + ": " + io.errmsg);
  io_ready = true;
  raft_uv_set_connect_retry_delay(&io, config.connect_retry_ms);
  raft_uv_set_segment_size(&io, config.segment_bytes);

  fsm.version = 1;  // synchronous snapshots; libraft frees the buffers we hand it
  fsm.data = this;
  fsm.apply = &Impl::fsm_apply;
  fsm.snapshot = &Impl::fsm_snapshot;
  fsm.restore = &Impl::fsm_restore;
  rv = raft_init(&node, &io, &fsm, config.id, config.address.c_str());
  if (rv != 0) {
    throw std::runtime_error("raft init of " + config.address + ": " + raft_strerror(rv) + " (" +
                             io.errmsg + ")");
  }
  raft_ready = true;
  node.data = this;
  progress_watch = std::make_unique<ProgressWatch>(
      config.on_stall ? config.on_stall : [](const std::string& line) {
        std::fprintf(stderr, "revkv cluster: %s\n", line.c_str());
      });
  if (tls_transport) {
    // Libraft's current configuration (latest, committed or not): who may connect, from
    // which address. Read on the loop thread, like everything of `node`.
    tls_transport->set_members([this](uint64_t id) -> std::optional<std::string> {
      for (unsigned i = 0; i < node.configuration.n; ++i) {
        if (node.configuration.servers[i].id == id) return node.configuration.servers[i].address;
      }
      // A joining member (--initial-cluster-state existing) has no configuration until the
      // leader's log reaches it, over a connection it must accept first: until then, the
      // members its --initial-cluster names, by the id the name gives (bootstrapped members)
      // or the one their address gives (members added later: cluster::joined_member_id).
      // The certificate check that follows still ties the claim to the address
      // (docs/CLUSTER.md "Peer TLS").
      if (node.configuration.n == 0 && config.join) {
        for (const auto& m : config.initial_cluster) {
          if (m.id == config.id) continue;
          if (m.id == id || joined_member_id(m.address) == id) return m.address;
        }
      }
      return std::nullopt;
    });
  }
  raft_set_election_timeout(&node, config.election_timeout_ms);
  raft_set_heartbeat_timeout(&node, config.heartbeat_timeout_ms);
  raft_set_snapshot_threshold(&node, config.snapshot_threshold);
  raft_set_snapshot_trailing(&node, config.snapshot_trailing);
  raft_set_install_snapshot_timeout(&node, config.install_snapshot_timeout_ms);
  // A member that was cut off and returns asks "would you vote for me?" before bumping the
  // term, so it does not depose a healthy leader.
  raft_set_pre_vote(&node, true);

  if (!config.join && !config.initial_cluster.empty()) {
    bool self_listed = false;
    raft_configuration conf;
    raft_configuration_init(&conf);
    for (const auto& m : config.initial_cluster) {
      self_listed |= m.id == config.id;
      rv = raft_configuration_add(&conf, m.id, m.address.c_str(), RAFT_VOTER);
      if (rv != 0) {
        raft_configuration_close(&conf);
        throw std::runtime_error("raft configuration: member " + m.name + ": " + raft_strerror(rv));
      }
    }
    if (!self_listed) {
      raft_configuration_close(&conf);
      throw std::invalid_argument("the initial cluster does not list this member (" +
                                  config.address + ")");
    }
    rv = raft_bootstrap(&node, &conf);
    raft_configuration_close(&conf);
    // CANTBOOTSTRAP: the directory already holds Raft state (a restart): start from it.
    if (rv != 0 && rv != RAFT_CANTBOOTSTRAP) {
      throw std::runtime_error(std::string("raft bootstrap: ") + raft_strerror(rv) + " (" +
                               io.errmsg + ")");
    }
  }

  rv = raft_start(&node);
  if (rv != 0) {
    // raft_errmsg() is often empty here (the failure was in the I/O layer): name all three,
    // and whether the peer address can be bound at all, which libraft's words never say.
    throw std::runtime_error(
        "raft start of " + config.address + ": " + raft_strerror(rv) + " (" + raft_errmsg(&node) +
        "; " + io.errmsg + ")" +
        bind_problem(config.bind_address.empty() ? config.address : config.bind_address));
  }

  uv_timer_init(loop.loop(), &ticker);
  ticker.data = this;
  ticker_ready = true;
  uv_timer_start(
      &ticker,
      [](uv_timer_t* t) {
        from_c("status check", [t] { static_cast<Impl*>(t->data)->observe(); });
      },
      config.heartbeat_timeout_ms, config.heartbeat_timeout_ms);
}

// On the loop thread: raft_close, then (in its callback) the I/O, the transport and the
// loop's wake-up handle, after which uv_run returns and the thread ends.
//
// A leader first waits for its own log writes to reach the disk: libraft 0.15 crashes when
// raft_close cancels a leader's in-flight append (the append's callback looks up requests in
// the leader state that closing already cleared). The wait is bounded; writes normally take
// one fsync.
void RaftNode::Impl::begin_close() {
  closing = true;
  if (!raft_ready || !ticker_ready || !writes_in_flight()) return close_raft();
  drain_deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(10 * config.election_timeout_ms);
  uv_timer_stop(&ticker);
  uv_timer_start(
      &ticker,
      [](uv_timer_t* t) {
        from_c("closing", [t] {
          auto* self = static_cast<Impl*>(t->data);
          if (self->writes_in_flight() && std::chrono::steady_clock::now() < self->drain_deadline)
            return;
          self->close_raft();
        });
      },
      1, 1);
}

bool RaftNode::Impl::writes_in_flight() {
  return raft_state(&node) == RAFT_LEADER && node.last_stored < raft_last_index(&node);
}

void RaftNode::Impl::close_raft() {
  if (ticker_ready) {
    uv_close(reinterpret_cast<uv_handle_t*>(&ticker), nullptr);
    ticker_ready = false;
  }
  if (raft_ready) {
    raft_close(&node, [](raft* r) {
      from_c("closing", [r] { static_cast<Impl*>(r->data)->finish_close(); });
    });
  } else {
    finish_close();
  }
}

void RaftNode::Impl::finish_close() {
  if (io_ready) raft_uv_close(&io);
  if (transport_ready) {
    if (tls_transport)
      tls_transport->shut();
    else
      tcp_transport->release();
  }
  io_ready = transport_ready = false;
  loop.close_wakeup();
}

NodeStatus RaftNode::Impl::read_status() {
  NodeStatus s;
  s.id = config.id;
  if (!raft_ready || closing) return s;
  s.role = role_of(raft_state(&node));
  raft_id leader = 0;
  const char* address = nullptr;
  raft_leader(&node, &leader, &address);
  s.leader_id = leader;
  if (address != nullptr) s.leader_address = address;
  s.term = node.current_term;
  s.commit_index = node.commit_index;
  s.last_index = raft_last_index(&node);
  s.last_applied = raft_last_applied(&node);
  for (unsigned i = 0; i < node.configuration.n; ++i) {
    const auto& server = node.configuration.servers[i];
    ServerInfo info;
    info.id = server.id;
    info.address = server.address != nullptr ? server.address : "";
    info.membership = server.role == RAFT_VOTER     ? Membership::voter
                      : server.role == RAFT_STANDBY ? Membership::standby
                                                    : Membership::spare;
    s.configuration.push_back(std::move(info));
  }
  return s;
}

void RaftNode::Impl::observe() {
  if (closing) return;
  if (progress_watch && raft_ready)
    progress_watch->look(replication_view(node), ProgressWatch::Clock::now());
  NodeStatus s = read_status();
  if (s.role == seen_role && s.leader_id == seen_leader && s.term == seen_term &&
      s.configuration == seen_configuration)
    return;
  seen_role = s.role;
  seen_leader = s.leader_id;
  seen_term = s.term;
  seen_configuration = s.configuration;
  if (!config.on_status_change) return;
  // The observer is the embedder's code running inside libuv's C frames: its failure must
  // neither unwind through them nor stop the member, so it is logged and dropped.
  try {
    config.on_status_change(s);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "revkv cluster: status observer failed: %s\n", e.what());
  } catch (...) {
    std::fprintf(stderr, "revkv cluster: status observer failed: unknown exception\n");
  }
}

std::shared_ptr<PendingOp> RaftNode::Impl::take(PendingOp* op) {
  auto it = pending.find(op);
  assert(it != pending.end());
  auto owned = std::move(it->second);
  pending.erase(it);
  return owned;
}

void RaftNode::Impl::start_apply(const std::shared_ptr<ApplyOp>& op, const std::string& entry) {
  if (closing) return op->settle(shutting_down());
  raft_buffer buf;
  buf.len = framed_size(entry.size());
  buf.base = raft_malloc(buf.len);
  if (buf.base == nullptr) return op->settle(failure(RAFT_NOMEM));
  write_frame(entry, static_cast<char*>(buf.base));
  op->owner = this;
  op->req.data = op.get();
  pending.emplace(op.get(), op);
  int rv = raft_apply(&node, &op->req, &buf, 1, [](struct raft_apply* req, int status, void*) {
    from_c("apply callback", [req, status] {
      auto* op = static_cast<ApplyOp*>(req->data);
      auto owned = static_cast<Impl*>(op->owner)->take(op);
      // Called once the entry committed and the state machine applied it here, or when
      // libraft gave up on it (leadership lost, or raft_close: RAFT_LEADERSHIPLOST).
      op->settle(status == 0 ? Outcome{Errc::ok, req->index, {}} : appended_failure(status));
    });
  });
  if (rv == 0) {
    op->appended = true;
  } else {
    raft_free(buf.base);  // not handed over: raft_apply takes the buffer only on success
    take(op.get());
    op->settle(failure(rv));
  }
}

void RaftNode::Impl::start_barrier(const std::shared_ptr<BarrierOp>& op) {
  if (closing) return op->settle(shutting_down());
  op->owner = this;
  op->req.data = op.get();
  pending.emplace(op.get(), op);
  int rv = raft_barrier(&node, &op->req, [](struct raft_barrier* req, int status) {
    from_c("barrier callback", [req, status] {
      auto* op = static_cast<BarrierOp*>(req->data);
      auto owned = static_cast<Impl*>(op->owner)->take(op);
      op->settle(status == 0 ? Outcome{Errc::ok, req->index, {}} : appended_failure(status));
    });
  });
  if (rv == 0) {
    op->appended = true;
  } else {
    take(op.get());
    op->settle(failure(rv));
  }
}

void RaftNode::Impl::start_transfer(const std::shared_ptr<TransferOp>& op) {
  if (closing) return op->settle(shutting_down());
  op->owner = this;
  op->req.data = op.get();
  pending.emplace(op.get(), op);
  int rv = raft_transfer(&node, &op->req, op->target, [](struct raft_transfer* req) {
    from_c("transfer callback", [req] {
      auto* op = static_cast<TransferOp*>(req->data);
      auto* self = static_cast<Impl*>(op->owner);
      auto owned = self->take(op);
      // raft_close ends a pending transfer too: it did not fail, the node stopped.
      if (self->closing) return op->settle(shutting_down());
      // libraft calls back when the target won or the election timeout passed: which one
      // happened shows in who leads now.
      raft_id leader = 0;
      const char* address = nullptr;
      raft_leader(&self->node, &leader, &address);
      bool moved =
          op->target == 0 ? leader != 0 && leader != self->config.id : leader == op->target;
      if (moved) {
        op->settle(Outcome{Errc::ok, 0, {}});
      } else {
        op->settle(
            Outcome{Errc::failed, 0,
                    "leadership did not move (leader is now " + std::to_string(leader) + ")"});
      }
      self->observe();
    });
  });
  if (rv != 0) {
    take(op.get());
    op->settle(failure(rv));
  }
}

void RaftNode::Impl::start_change(
    const std::shared_ptr<ChangeOp>& op,
    const std::function<int(struct raft_change*, raft_change_cb)>& call) {
  if (closing) return op->settle(shutting_down());
  op->owner = this;
  op->req.data = op.get();
  pending.emplace(op.get(), op);
  int rv = call(&op->req, [](struct raft_change* req, int status) {
    from_c("change callback", [req, status] {
      auto* op = static_cast<ChangeOp*>(req->data);
      auto* self = static_cast<Impl*>(op->owner);
      auto owned = self->take(op);
      self->observe();  // the embedder hears of the new configuration before the caller
      op->settle(status == 0 ? Outcome{Errc::ok, 0, {}} : appended_failure(status));
    });
  });
  if (rv == 0) {
    op->appended = true;
  } else {
    take(op.get());
    // RAFT_CANTCHANGE (another change is uncommitted), RAFT_DUPLICATEID/ADDRESS, RAFT_BADID:
    // libraft's words say which.
    op->settle(failure(rv));
  }
}

int RaftNode::Impl::fsm_apply(raft_fsm* fsm, const raft_buffer* buf, void** result) {
  auto* self = static_cast<Impl*>(fsm->data);
  *result = nullptr;
  // libraft applies entries in index order and advances last_applied after each one (also
  // past barrier and configuration entries, which never reach the FSM): the entry being
  // applied is the next index.
  std::uint64_t index = raft_last_applied(&self->node) + 1;
  auto payload = read_frame(std::string_view(static_cast<const char*>(buf->base), buf->len));
  if (!payload) {
    // A committed entry that is not what a member proposed: applying it would make this
    // replica diverge from the others.
    fatal("committed entry is malformed", std::to_string(index).c_str());
  }
  try {
    self->machine.apply(index, *payload);
  } catch (const std::exception& e) {
    fatal("applying a committed entry failed", e.what());
  } catch (...) {
    fatal("applying a committed entry failed", "unknown exception");
  }
  return 0;
}

// A failed snapshot answers RAFT_BUSY: libraft 0.15 takes that as "not now" and carries on
// with the longer log, while any other code makes the member unavailable for good (a
// follower then never votes or applies again, and a group can lose its leader). libraft asks
// again at every apply once the threshold is passed, so after a failure the wrapper answers
// RAFT_BUSY without calling the machine until another `snapshot_threshold` entries have been
// applied: a machine that keeps failing is asked about as often as a healthy one snapshots.
int RaftNode::Impl::fsm_snapshot(raft_fsm* fsm, raft_buffer* bufs[], unsigned* n_bufs) {
  auto* self = static_cast<Impl*>(fsm->data);
  std::uint64_t index = raft_last_applied(&self->node);
  if (index < self->snapshot_retry_at) return RAFT_BUSY;
  std::string bytes;
  std::string error;
  try {
    bytes = encode_snapshot(SnapshotHeader{index, self->machine.snapshot(index)});
  } catch (const std::exception& e) {
    error = e.what();
  } catch (...) {
    error = "unknown exception";
  }
  raft_buffer* array = nullptr;
  if (error.empty()) {
    array = static_cast<raft_buffer*>(raft_malloc(sizeof(raft_buffer)));
    if (array != nullptr) {
      array[0].len = bytes.size();
      array[0].base = raft_malloc(bytes.size());
      if (array[0].base == nullptr) {
        raft_free(array);
        array = nullptr;
      }
    }
    // Out of memory is no reason to make the member unavailable either: skip, retry later.
    if (array == nullptr) error = "out of memory";
  }
  if (!error.empty()) {
    ++self->snapshot_failures;
    self->snapshot_retry_at = index + std::max(1u, self->config.snapshot_threshold);
    std::fprintf(stderr,
                 "revkv cluster: snapshot at index %llu failed (%llu in a row): %s; next try at "
                 "index %llu\n",
                 static_cast<unsigned long long>(index),
                 static_cast<unsigned long long>(self->snapshot_failures), error.c_str(),
                 static_cast<unsigned long long>(self->snapshot_retry_at));
    return RAFT_BUSY;
  }
  self->snapshot_failures = 0;
  std::memcpy(array[0].base, bytes.data(), bytes.size());
  *bufs = array;  // version 1 FSM: libraft frees the array and the buffer
  *n_bufs = 1;
  return 0;
}

int RaftNode::Impl::fsm_restore(raft_fsm* fsm, raft_buffer* buf) {
  auto* self = static_cast<Impl*>(fsm->data);
  // Everything that can throw stays inside the try: libraft's C frames are below us.
  std::uint64_t index = 0;
  bool restored = false;
  try {
    auto header = decode_snapshot(std::string_view(static_cast<const char*>(buf->base), buf->len));
    if (!header) return RAFT_MALFORMED;
    index = header->applied_index;
    restored = self->machine.restore(header->applied_index, header->descriptor);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "revkv cluster: restoring snapshot %llu failed: %s\n",
                 static_cast<unsigned long long>(index), e.what());
  } catch (...) {
    std::fprintf(stderr, "revkv cluster: restoring snapshot %llu failed: unknown exception\n",
                 static_cast<unsigned long long>(index));
  }
  if (!restored) return RAFT_IOERR;  // libraft keeps (and frees) the buffer on failure
  raft_free(buf->base);              // on success the buffer is ours
  return 0;
}

RaftNode::RaftNode(RaftConfig config, StateMachine& machine)
    : impl_(std::make_unique<Impl>(std::move(config), machine)) {
  try {
    impl_->open();
  } catch (...) {
    // Nothing runs the loop yet: close what was opened on this thread, then rethrow.
    impl_->begin_close();
    impl_->loop.run_here();
    {
      std::lock_guard lock(impl_->stop_mutex);
      impl_->stopped = true;
    }
    throw;
  }
  impl_->loop.start("revkv-raft");
}

RaftNode::~RaftNode() {
  stop();
}

std::uint64_t RaftNode::id() const {
  return impl_->config.id;
}

std::future<Outcome> RaftNode::propose(std::string entry) {
  auto settled = std::make_shared<std::promise<Outcome>>();
  auto result = settled->get_future();
  propose(std::move(entry), [settled](Outcome outcome) { settled->set_value(std::move(outcome)); });
  return result;
}

void RaftNode::propose(std::string entry, std::function<void(Outcome)> then) {
  auto op = std::make_shared<ApplyOp>();
  op->then = std::move(then);
  if (entry.empty()) {
    op->settle(Outcome{Errc::invalid, 0, "an entry must not be empty"});
    return;
  }
  auto bytes = std::make_shared<std::string>(std::move(entry));
  Impl* impl = impl_.get();
  if (!impl->loop.post([impl, op, bytes] { impl->start_apply(op, *bytes); }))
    op->settle(shutting_down());
}

std::future<Outcome> RaftNode::barrier() {
  auto op = std::make_shared<BarrierOp>();
  auto result = op->done.get_future();
  Impl* impl = impl_.get();
  if (!impl->loop.post([impl, op] { impl->start_barrier(op); })) op->settle(shutting_down());
  return result;
}

std::future<Outcome> RaftNode::transfer(std::uint64_t target) {
  auto op = std::make_shared<TransferOp>();
  op->target = target;
  auto result = op->done.get_future();
  Impl* impl = impl_.get();
  if (!impl->loop.post([impl, op] { impl->start_transfer(op); })) op->settle(shutting_down());
  return result;
}

namespace {
template <class Start>
std::future<Outcome> post_change(LoopThread& loop, Start start) {
  auto op = std::make_shared<ChangeOp>();
  auto result = op->done.get_future();
  if (!loop.post([op, start] { start(op); })) op->settle(shutting_down());
  return result;
}
}  // namespace

std::future<Outcome> RaftNode::add(std::uint64_t id, std::string address) {
  Impl* impl = impl_.get();
  return post_change(impl->loop, [impl, id, address](const std::shared_ptr<ChangeOp>& op) {
    impl->start_change(op, [impl, id, &address](struct raft_change* req, raft_change_cb cb) {
      return raft_add(&impl->node, req, id, address.c_str(), cb);
    });
  });
}

std::future<Outcome> RaftNode::assign(std::uint64_t id, Membership membership) {
  Impl* impl = impl_.get();
  int role = membership == Membership::voter     ? RAFT_VOTER
             : membership == Membership::standby ? RAFT_STANDBY
                                                 : RAFT_SPARE;
  return post_change(impl->loop, [impl, id, role](const std::shared_ptr<ChangeOp>& op) {
    impl->start_change(op, [impl, id, role](struct raft_change* req, raft_change_cb cb) {
      return raft_assign(&impl->node, req, id, role, cb);
    });
  });
}

std::future<Outcome> RaftNode::remove(std::uint64_t id) {
  Impl* impl = impl_.get();
  return post_change(impl->loop, [impl, id](const std::shared_ptr<ChangeOp>& op) {
    impl->start_change(op, [impl, id](struct raft_change* req, raft_change_cb cb) {
      return raft_remove(&impl->node, req, id, cb);
    });
  });
}

std::future<std::uint64_t> RaftNode::match_index(std::uint64_t id) {
  auto promise = std::make_shared<std::promise<std::uint64_t>>();
  auto result = promise->get_future();
  Impl* impl = impl_.get();
  if (!impl->loop.post([impl, promise, id] {
        std::uint64_t match = 0;
        if (impl->raft_ready && !impl->closing && raft_state(&impl->node) == RAFT_LEADER) {
          for (unsigned i = 0; i < impl->node.configuration.n; ++i) {
            if (impl->node.configuration.servers[i].id == id)
              match = impl->node.leader_state.progress[i].match_index;
          }
        }
        promise->set_value(match);
      })) {
    promise->set_value(0);
  }
  return result;
}

std::future<NodeStatus> RaftNode::status() {
  auto promise = std::make_shared<std::promise<NodeStatus>>();
  auto result = promise->get_future();
  Impl* impl = impl_.get();
  if (!impl->loop.post([impl, promise] {
        // The observer hears of a change no later than a status() that shows it.
        impl->observe();
        promise->set_value(impl->read_status());
      })) {
    NodeStatus stopped;
    stopped.id = impl->config.id;
    promise->set_value(stopped);
  }
  return result;
}

void RaftNode::stop() {
  std::lock_guard lock(impl_->stop_mutex);
  if (impl_->stopped) return;
  impl_->stopped = true;
  // Joining the loop from its own thread would wait forever.
  assert(!impl_->loop.on_loop_thread());
  Impl* impl = impl_.get();
  impl->loop.post_last([impl] { impl->begin_close(); });
  impl->loop.join();
  // The loop has ended: whatever libraft did not call back for is over. An entry it accepted
  // may be in the log (and commit under another leader): its outcome is unknown.
  for (auto& [ptr, op] : impl->pending) {
    op->settle(op->appended
                   ? Outcome{Errc::leader_changed, 0, "the node stopped before the entry committed"}
                   : shutting_down());
  }
  impl->pending.clear();
}

}  // namespace revkv::cluster
