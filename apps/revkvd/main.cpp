// revkvd: the revkv node. Reads flags, environment and an optional YAML config file,
// opens the data directory, starts the actors and the listeners, prints one ready line,
// reloads its TLS certificates on SIGHUP, and shuts down cleanly on SIGINT/SIGTERM. If a core actor
// dies, it reports it on /health for a moment and exits 70 for its supervisor to restart it
// (docs/NODE.md "Supervision").

#include "actors/fatal.hpp"
#include "actors/node.hpp"
#include "apps/revkvd/catchup_store.hpp"
#include "apps/revkvd/cluster_member.hpp"
#include "apps/revkvd/listeners.hpp"
#include "apps/revkvd/logging.hpp"
#include "apps/revkvd/options.hpp"
#include "apps/revkvd/yaml_config.hpp"
#include "etcdapi/server.hpp"
#include "metrics/etcd_names.hpp"
#include "metrics/health.hpp"
#include "metrics/http_server.hpp"
#include "metrics/node_metrics.hpp"
#include "metrics/process_collector.hpp"
#include "metrics/state_collector.hpp"
#include "tls/listener.hpp"
#include "tls/server_credentials.hpp"
#include "util/bind_probe.hpp"
#include "util/open_files.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>
#include <spdlog/spdlog.h>

#include <absl/synchronization/mutex.h>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <pthread.h>
#include <thread>
#include <unistd.h>

namespace {

constexpr const char* kVersion = "0.1.0";

// The supervisor's failure callback wakes the main thread with this signal, sent to that
// thread alone (pthread_kill): it blocks the signal like every thread and takes it in
// sigwait. A stray SIGUSR2 from outside is ignored (the node has not failed).
constexpr int kNodeFailedSignal = SIGUSR2;
// How long a failed node keeps answering /health (503 with the reason) before it exits:
// long enough for a prober polling /health to see why, short enough not to hold up the
// restart. Requests meanwhile fail with Unavailable.
constexpr std::chrono::milliseconds kFailureLinger{1000};
// EX_SOFTWARE, as actors/fatal.cpp.
constexpr int kFailureExitStatus = 70;

int fail(const std::string& message) {
  std::cerr << "revkvd: " << message << std::endl;
  return 1;
}

// A core actor died (actors/supervisor_actor.hpp already logged which and why).
[[noreturn]] void exit_failed(const std::string& reason) {
  spdlog::critical("node failed ({}); exiting with status {} in {} ms", reason, kFailureExitStatus,
                   kFailureLinger.count());
  std::this_thread::sleep_for(kFailureLinger);
  revkv::actors::flush_logs();  // not spdlog::shutdown(): other threads may still log
  // Not the clean shutdown, which would wait for the dead actor. Nothing acknowledged is
  // lost: with --sync always it was fsynced before the acknowledgement, with interval or
  // never it is in the OS's page cache, which outlives the process; RocksDB recovers from
  // its WAL as after a crash.
  std::_Exit(kFailureExitStatus);
}

// Catch-up staged a peer's checkpoint (docs/CLUSTER.md "Catch-up from a peer's checkpoint"):
// after the clean shutdown, the same program with the same arguments and environment starts
// again in this process (same PID, so a plain revkvd catches up with no supervisor), and its
// start swaps the checkpoint in before it opens the store. Only if exec fails does the
// process exit, with 70 as after a failure, for a supervisor to restart it.
// The signal mask is inherited as it is: a SIGTERM that arrives meanwhile stays pending and
// the new image's sigwait takes it (a clean stop) instead of its default action.
int restart_into_checkpoint(char** argv) {
  spdlog::info("catch-up: restarting to install the fetched checkpoint");
  spdlog::default_logger()->flush();
  std::cout.flush();
  ::execv("/proc/self/exe", argv);
  spdlog::critical("catch-up: cannot re-execute revkvd ({}); exiting with status {}",
                   std::strerror(errno), kFailureExitStatus);
  return kFailureExitStatus;
}

// --test-hooks: POST /debug/kill?actor=NAME kills that core actor (Node::kill_for_test).
revkv::metrics::HttpAnswer kill_hook(const revkv::actors::Node& node, const std::string& query) {
  auto name = revkv::metrics::query_param(query, "actor");
  if (!name) return {400, "expected ?actor=NAME"};
  if (!node.kill_for_test(*name)) {
    std::string names;
    for (const auto& [known, actor] : node.core_actors())
      names += (names.empty() ? "" : " ") + known;
    return {400, "no core actor '" + *name + "'; one of: " + names};
  }
  spdlog::warn("test hook: killed core actor {}", *name);
  return {200, "killed " + *name};
}

}  // namespace

int main(int argc, char** argv) {
  // Debian's Abseil tracks the lock order of every absl::Mutex (gRPC's) for deadlock
  // reports, as a debug build does: a few percent of the gRPC door's CPU, for nothing.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  CLI::App app{"revkvd: an etcd-v3-style multi-version key-value node", "revkvd"};
  app.set_version_flag("--version", std::string("revkvd ") + kVersion);
  app.set_config("--config", "", "YAML config file");
  revkv::apps::RawOptions raw;
  revkv::apps::register_options(app, raw);
  app.config_formatter(
      std::make_shared<revkv::apps::YamlConfig>(revkv::apps::YamlConfig::keys_of(app)));
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return fail(e.what());
  }
  std::string error;
  auto options = revkv::apps::resolve_options(raw, error);
  if (!options) return fail(error);

  revkv::apps::setup_logging(options->log_format, options->log_level);
  // The usual soft limit (1024) is soon used up by clients; the client port keeps a reserve
  // for RocksDB's files besides (util/open_files.hpp).
  if (auto before = revkv::util::raise_open_file_limit())
    spdlog::debug("open file limit raised from {}", *before);
  for (const auto& warning : revkv::apps::plaintext_beyond_loopback(*options))
    spdlog::warn("{}", warning);
  // TLS on both client doors: the certificates are read before anything starts, so that an
  // unreadable file or a key that does not match is a one-line error.
  std::shared_ptr<revkv::tls::ServerCredentials> tls;
  if (options->tls.enabled()) {
    std::string tls_error;
    tls = revkv::tls::ServerCredentials::load(options->tls, tls_error);
    if (!tls) return fail(tls_error);
    spdlog::info("tls: client doors accept TLS only{}; certificate {}",
                 options->tls.client_cert_auth ? ", with a client certificate from "
                                                 "--trusted-ca-file"
                                               : "",
                 tls->description());
  }
  // The MessagePack door's listening socket is revkvd's own (below), with TLS or without:
  // it keeps the descriptors RocksDB needs, and CAF 0.17's acceptor would spin a thread
  // retrying accept while the process is out of descriptors.
  options->node.adopt_only = true;
  // Peer TLS (cluster mode): the same, for the certificates of the Raft traffic.
  std::shared_ptr<revkv::tls::ServerCredentials> peer_tls;
  if (options->peer_tls.enabled()) {
    std::string tls_error;
    peer_tls = revkv::tls::ServerCredentials::load(options->peer_tls, tls_error);
    if (!peer_tls) return fail(tls_error);
    spdlog::info("tls: Raft traffic between members is TLS, verified both ways; certificate {}",
                 peer_tls->description());
  }
  // Every port is tried before anything starts, so that a busy one is a one-line error
  // with the system's reason and nothing is written to the data directory.
  if (auto busy = revkv::apps::unavailable_listener(*options); !busy.empty()) return fail(busy);

  // SIGINT/SIGTERM (and the failure signal) are handled by sigwait below; every thread
  // started from here on inherits the blocked mask, so no actor thread is interrupted by
  // them.
  sigset_t wake_signals;
  sigemptyset(&wake_signals);
  sigaddset(&wake_signals, SIGINT);
  sigaddset(&wake_signals, SIGTERM);
  sigaddset(&wake_signals, kNodeFailedSignal);
  // Reloads the certificates (only that: without TLS it is logged and ignored).
  sigaddset(&wake_signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &wake_signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  // /health answers 503 "starting" until the node serves, so the listener can come up
  // first and a busy metrics port fails before the data directory is opened.
  revkv::metrics::NodeHealth health;
  std::unique_ptr<revkv::metrics::HttpServer> http;
  try {
    http = std::make_unique<revkv::metrics::HttpServer>(
        options->metrics_host, options->metrics_port, [&health] { return health.check(); });
  } catch (const std::exception& e) {
    // civetweb says only "null context when constructing CivetServer"; the bind says why.
    auto reason = revkv::util::bind_failure(options->metrics_host, options->metrics_port);
    return fail("cannot listen on " + options->metrics_host + ":" +
                std::to_string(options->metrics_port) +
                " for metrics: " + (reason.empty() ? std::string(e.what()) : reason));
  }

  caf::actor_system_config cfg;
  cfg.load<caf::io::middleman>();
  const auto scheduler_threads = std::max(2u, std::thread::hardware_concurrency());
  cfg.set("scheduler.max-threads", static_cast<int>(scheduler_threads));
  // An idle worker polls with a sleep between attempts before it waits on a condition
  // variable; CAF's default 50 µs sleep (about 100 µs with Linux's timer slack) sat on
  // every hop of a lone request. Without it the worker soon waits on the condition
  // variable and an enqueue wakes it at once (docs/BENCHMARKS.md "The request path").
  cfg.set("work-stealing.moderate-sleep-duration", caf::timespan{0});
  cfg.set("logger.console", caf::atom("none"));
  caf::actor_system sys{cfg};

  // Registered before the node starts so that its first requests are counted; the
  // listener keeps weak pointers, these keep the collectables alive until main returns.
  auto node_metrics = std::make_shared<revkv::metrics::NodeMetrics>(kVersion);
  // revkv's families and, derived from them at the same scrape, etcd's names for them
  // (metrics/etcd_names.hpp); the process_* families as every Prometheus client has them.
  auto exported = std::make_shared<revkv::metrics::WithEtcdNames>();
  exported->add(node_metrics->registry());
  http->add_collectable(exported);
  auto process_metrics = revkv::metrics::make_process_collector();
  http->add_collectable(process_metrics);
  options->node.metrics = node_metrics;
  // Runs on the supervisor's thread: only wake main, which reads the reason from the
  // context. A failure before main waits stays pending and is taken by the first sigwait.
  options->node.on_failure = [main_thread = pthread_self()](const std::string&) {
    pthread_kill(main_thread, kNodeFailedSignal);
  };
  if (options->clustered()) {
    // A checkpoint a previous run fetched and staged replaces the store before it opens.
    try {
      options->node.cluster = revkv::apps::make_cluster_link(*options);
      if (auto installed = revkv::apps::install_staged_checkpoint(options->node.data_dir))
        spdlog::warn("catch-up: installed the {}", *installed);
    } catch (const std::exception& e) {
      return fail(e.what());
    }
  }
  auto node = revkv::actors::Node::start(sys, options->node);
  if (!node.ok()) {
    const auto& msg = node.error().message();
    if (msg.find("lock") != std::string::npos) {
      return fail("data directory " + options->node.data_dir +
                  " is locked by another node: " + msg);
    }
    return fail(msg);
  }
  // Cluster mode: the Raft member over the node's store, before any door serves (a member
  // serves writes once it leads, docs/CLUSTER.md).
  // Set (from the fetcher's thread) once a peer's checkpoint is staged; SIGTERM to the main
  // thread then runs the clean shutdown, after which the process starts again into it.
  // Declared before the member, whose fetcher thread may set it until the member is gone.
  std::atomic<bool> restart{false};
  std::unique_ptr<revkv::apps::ClusterMember> member;
  if (options->clustered()) {
    try {
      member = std::make_unique<revkv::apps::ClusterMember>(
          sys, **node, *options, peer_tls,
          [&restart, main_thread = pthread_self()] {
            restart.store(true);
            // Staged during the start itself (on this thread): the catch below restarts.
            if (!pthread_equal(pthread_self(), main_thread)) pthread_kill(main_thread, SIGTERM);
          },
          // Removed from the cluster (member remove): stop as on SIGTERM, as etcd's removed
          // member exits (docs/CLUSTER.md "Membership").
          [main_thread = pthread_self()] { pthread_kill(main_thread, SIGTERM); });
    } catch (const std::exception& e) {
      if (auto stopped = (*node)->stop(); !stopped.ok())
        spdlog::error("shutdown: {}", stopped.error().message());
      // The start's own restore fetched and staged a checkpoint: start again into it, with
      // the metrics port closed first (the new image binds it again).
      if (restart.load()) {
        http.reset();
        return restart_into_checkpoint(argv);
      }
      return fail("cluster member " + options->name + " on " + options->peer_address + ": " +
                  e.what());
    }
  }
  auto state_metrics = revkv::metrics::make_state_collector((*node)->context());
  exported->add(state_metrics);
  exported->set_member_id((*node)->context()->member_id);
  health.serving((*node)->context());
  if (options->test_hooks) {
    spdlog::warn("--test-hooks: POST /debug/kill is enabled; never use this flag in production");
    http->add_post_handler("/debug/kill", [n = node->get()](const std::string& query) {
      return kill_hook(*n, query);
    });
  }

  // etcd's v3 gRPC API: a second door onto the same request path (etcdapi/). gRPC calls
  // carry no order, so a door's ordering rules only make unrelated calls wait for each
  // other: many doors (--grpc-doors; idle ones cost nothing), at least one per scheduler
  // thread (docs/NODE.md "The gRPC door").
  std::unique_ptr<revkv::etcdapi::GrpcServer> grpc;
  // The MessagePack door's listener: it hands each connection (with TLS, each plaintext
  // end; docs/SECURITY.md) to the node's acceptor.
  std::unique_ptr<revkv::tls::Listener> msgpack_listener;
  uint16_t client_port = 0;
  try {
    const revkv::actors::Node* n = node->get();
    msgpack_listener = std::make_unique<revkv::tls::Listener>(
        options->node.client_host, options->node.client_port, tls, "MessagePack port",
        revkv::tls::Terminator::Limits{}, 1,
        revkv::tls::Terminator::PeerHandoff([n](int fd, const revkv::tls::Terminator::Peer& peer) {
          n->adopt_connection(fd, peer.verified_cn);
        }));
    client_port = msgpack_listener->port();
    grpc = std::make_unique<revkv::etcdapi::GrpcServer>(
        sys, **node, options->grpc_host, options->grpc_port,
        std::max<size_t>(options->grpc_doors, scheduler_threads), tls, options->grpc_engine,
        options->http2_loops,
        // etcd serves /metrics on its client URLs too: scrape configs written for etcd work.
        [metrics = http.get()] { return metrics->render_metrics(); });
  } catch (const std::exception& e) {
    const bool msgpack_listening = msgpack_listener != nullptr;
    msgpack_listener.reset();
    if (member) member->stop();
    // The port is the problem to report; a failed shutdown would only be logged.
    if (auto stopped = (*node)->stop(); !stopped.ok())
      spdlog::error("shutdown: {}", stopped.error().message());
    return fail(std::string(e.what()) + (msgpack_listening ? " for gRPC" : " for MessagePack"));
  }

  // This node's client URL as Cluster.MemberList shows it to MessagePack clients (the gRPC
  // server sets its own; a cluster member sets a dialable one below).
  (*node)->context()->door_urls.set(revkv::actors::Door::msgpack,
                                    std::string(tls ? "https://" : "http://") +
                                        options->node.client_host + ":" +
                                        std::to_string(client_port));
  if (member) {
    // The followers forward to the leader's MessagePack door (docs/CLUSTER.md "Forwarding").
    // A wildcard listen address is no address to dial: the peer address's host stands in.
    auto dialable = [&](const std::string& host) {
      std::string h = host;
      if (h == "0.0.0.0" || h == "::" || h == "[::]" || h.empty())
        h = options->peer_address.substr(0, options->peer_address.rfind(':'));
      if (h.find(':') != std::string::npos && h.front() != '[') h = "[" + h + "]";
      return h;
    };
    revkv::actors::MemberAttributes own;
    own.name = options->name;
    own.client = dialable(options->node.client_host) + ":" + std::to_string(client_port);
    own.grpc = dialable(options->grpc_host) + ":" + std::to_string(grpc->port());
    own.tls = tls != nullptr;
    // Listed as this member's client URL as the others list it: dialable.
    (*node)->context()->door_urls.set(revkv::actors::Door::msgpack, own.msgpack_url());
    member->serving(std::move(own));
    // Leadership lost with writes in flight: both doors answer what waits with etcd's
    // `leader changed` before the member restarts in place (docs/CLUSTER.md "Leadership
    // loss"). Cleared before the doors stop, below.
    // The MessagePack listener closes as the drain starts (docs/CLUSTER.md "Leadership
    // loss"): no connection lands in a process about to execute another image.
    options->node.cluster->set_door_drain(
        [n = node->get(), g = grpc.get(),
         l = msgpack_listener.get()](const revkv::actors::DrainHoldPtr& hold) {
          l->stop();
          n->drain_sessions(hold);
          g->drain(hold);
        });
  }
  std::cout << "revkvd ready client=" << options->node.client_host << ":" << client_port
            << " metrics=" << options->metrics_host << ":" << http->port()
            << " grpc=" << options->grpc_host << ":" << grpc->port();
  if (member) std::cout << " peer=" << options->peer_address;
  if (member && !options->peer_listen.empty()) std::cout << " peer_listen=" << options->peer_listen;
  std::cout << std::endl;
  spdlog::info("serving data_dir={} shards={} revision={}", options->node.data_dir,
               options->node.options.shards, (*node)->context()->watermark.load());

  int signal = 0;
  for (;;) {
    sigwait(&wake_signals, &signal);
    // A failure wins over a stop request that comes with it: the clean shutdown would
    // wait for the dead actor, and the exit status must say that the node failed.
    if (const auto& ctx = (*node)->context(); ctx->failure.failed()) {
      // The MessagePack doors heard of it from the supervisor; the gRPC doors from here.
      if (grpc) grpc->fail(ctx->failure.reason());
      exit_failed(ctx->failure.reason());
    }
    if (signal == SIGHUP) {
      if (!tls && !peer_tls) {
        spdlog::info("SIGHUP: no TLS certificates to reload");
        continue;
      }
      std::string reload_error, description;
      if (tls && tls->reload(reload_error, description))
        spdlog::info("SIGHUP: TLS certificates reloaded; new connections get {}", description);
      else if (tls)
        spdlog::error("SIGHUP: TLS certificates not reloaded, the previous ones stay: {}",
                      reload_error);
      // Outgoing peer connections read the files at each connection; the peer port's
      // certificates are reloaded here.
      if (peer_tls && peer_tls->reload(reload_error, description))
        spdlog::info("SIGHUP: peer TLS certificates reloaded; new peer connections get {}",
                     description);
      else if (peer_tls)
        spdlog::error("SIGHUP: peer TLS certificates not reloaded, the previous ones stay: {}",
                      reload_error);
      continue;
    }
    if (signal != kNodeFailedSignal) break;
  }
  spdlog::info("signal {}: shutting down", signal);
  health.stopping();
  // No leadership drain reaches the doors from now on (they go below), and the forwarder
  // sends no read again: the doors' shutdown waits for what it holds.
  if (options->node.cluster) {
    options->node.cluster->set_door_drain(nullptr);
    options->node.cluster->closing.store(true);
  }
  if (member) member->cancel_catchup();
  // gRPC first: its shutdown waits for calls in flight, which need the node to answer.
  grpc.reset();
  // No new MessagePack connection; those open end as the node's acceptor closes them,
  // their relays with them (the listener's threads are joined after the node stopped).
  if (msgpack_listener) msgpack_listener->stop();
  // The Raft member before the node's actors: applying entries needs them and the store.
  // But after its MessagePack sessions drained: their writes in flight are answered once
  // committed, and a member stopped under them would leave them waiting for ever.
  if (member) {
    (*node)->stop_accepting();
    member->stop();
  }
  auto stopped = (*node)->stop();
  msgpack_listener.reset();
  // The listener goes before the node: the test hook holds a pointer to it.
  http.reset();
  if (!stopped.ok()) {
    spdlog::error("shutdown: {}", stopped.error().message());
    return 1;
  }
  if (restart.load()) {
    member.reset();  // joins the fetcher's thread
    return restart_into_checkpoint(argv);
  }
  spdlog::info("stopped");
  return 0;
}
