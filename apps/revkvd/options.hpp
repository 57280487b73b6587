#pragma once

// revkvd's command line, environment and config file (docs/NODE.md), parsed into the
// node's configuration. Values are checked here so that a bad one is a one-line error
// before anything starts.

#include "actors/node.hpp"
#include "cluster/members.hpp"
#include "etcdapi/grpc_engine.hpp"
#include "tls/server_config.hpp"

#include <CLI/CLI.hpp>

#include <chrono>
#include <optional>
#include <string>

namespace revkv::apps {

struct DaemonOptions {
  actors::NodeConfig node;
  std::string metrics_host = "127.0.0.1";
  uint16_t metrics_port = 9379;
  // etcd's v3 gRPC API (etcdapi/); etcd's own default client port.
  std::string grpc_host = "127.0.0.1";
  uint16_t grpc_port = 2379;
  // gRPC door actors sharing the gRPC calls (docs/NODE.md "The gRPC door").
  size_t grpc_doors = 64;
  etcdapi::GrpcEngine grpc_engine = etcdapi::GrpcEngine::nghttp2;
  size_t http2_loops = 0;  // 0: one per four cores, at least one
  std::string log_level = "info";
  std::string log_format = "json";  // json | text (apps/revkvd/logging.hpp)
  std::string auto_compaction_mode = "periodic";
  std::string auto_compaction_retention = "0";
  // TLS on both client doors (--listen-client, --listen-grpc) when enabled().
  tls::ServerConfig tls;
  // Test-only (--test-hooks): POST /debug/kill on the metrics listener.
  bool test_hooks = false;
  // Cluster mode (docs/CLUSTER.md): on with --initial-cluster; empty `initial_cluster` is
  // the single node.
  std::string name = "default";
  std::vector<cluster::Member> initial_cluster;
  std::string peer_address;  // HOST:PORT this member is known by (its --initial-cluster entry)
  // --listen-peer: HOST:PORT its Raft listener binds; empty: peer_address. It differs when
  // something sits between the members (a proxy, NAT), as etcd's --listen-peer-urls beside
  // --initial-advertise-peer-urls.
  std::string peer_listen;
  // --initial-cluster-state existing: joining a running cluster that added this member
  // (MemberAdd); its Raft directory is not bootstrapped.
  bool join = false;
  // This member's Raft id: from --name in a new cluster, from its peer address when it
  // joins (cluster::joined_member_id). A data directory that already has one keeps it
  // (apps/revkvd/cluster_member.cpp: DATA_DIR/member-id).
  uint64_t member_id = 0;
  // --listen-catchup: where peers fetch a checkpoint of this store (docs/CLUSTER.md
  // "Catch-up from a peer's checkpoint"); default the peer host and a free port.
  std::string catchup_host;
  uint16_t catchup_port = 0;
  // TLS on every Raft connection between members when enabled() (--peer-cert-file, ...;
  // docs/CLUSTER.md "Peer TLS"); always with client_cert_auth.
  tls::ServerConfig peer_tls;
  // etcd's --heartbeat-interval and --election-timeout (milliseconds): Raft's timing in
  // cluster mode; on every node also the leases' minimum TTL and restart extension.
  unsigned heartbeat_interval_ms = 100;
  unsigned election_timeout_ms = 1000;
  bool clustered() const { return !initial_cluster.empty(); }
};

// Registers every flag on `app`, bound to raw strings in `raw`.
struct RawOptions {
  std::string data_dir = "./revkv.data";
  std::string listen_client = "127.0.0.1:7379";
  std::string listen_metrics = "127.0.0.1:9379";
  std::string listen_grpc = "127.0.0.1:2379";
  int64_t grpc_doors = 64;
  std::string grpc_engine = "nghttp2";
  int64_t http2_loops = 0;
  int64_t shards = 0;  // 0: the number of cores
  std::string sync = "always";
  // Sizes are strings: a byte count with an optional unit (parse_size).
  std::string quota_backend_bytes = "2147483648";
  std::string max_request_bytes = "1572864";
  int64_t max_txn_ops = 128;
  int64_t auth_token_ttl = 300;       // seconds
  std::string auth_token = "simple";  // etcd's --auth-token: simple | jwt,OPTION=VALUE,...
  std::string auto_compaction_mode = "periodic";
  std::string auto_compaction_retention = "0";
  std::string auto_compaction_interval = "5m";
  std::string lease_check_interval = "500ms";
  int64_t lease_revoke_rate = 1000;
  std::string watch_progress_notify_interval = "10m";
  int64_t max_snapshots = 8;
  std::string snapshot_idle_timeout = "30s";
  std::string block_cache_bytes = "67108864";
  // etcd's names (cluster mode, docs/CLUSTER.md).
  std::string name = "default";
  std::string listen_peer;     // empty: the address --initial-cluster gives --name
  std::string listen_catchup;  // empty: the peer host, a free port
  std::string initial_cluster;
  std::string initial_cluster_state = "new";
  int64_t heartbeat_interval = 100;  // milliseconds
  int64_t election_timeout = 1000;   // milliseconds
  std::string log_level = "info";
  std::string log_format = "json";
  // etcd's client TLS flags (docs/SECURITY.md).
  std::string cert_file;
  std::string key_file;
  std::string trusted_ca_file;
  bool client_cert_auth = false;
  // etcd's peer TLS flags (docs/CLUSTER.md "Peer TLS").
  std::string peer_cert_file;
  std::string peer_key_file;
  std::string peer_trusted_ca_file;
  bool peer_client_cert_auth = false;
  bool test_hooks = false;
};

void register_options(CLI::App& app, RawOptions& raw);

// nullopt + message on a bad value.
std::optional<DaemonOptions> resolve_options(const RawOptions& raw, std::string& error);

// "90s", "30m", "1h", "500ms"; a bare number means hours (etcd's periodic retention).
std::optional<std::chrono::milliseconds> parse_duration(const std::string& text);

// A byte count: "1572864", "8MiB", "2GiB", "500KB", "1.5GB". Binary units (KiB, MiB, GiB,
// TiB; also Ki, Mi, Gi, Ti) are powers of 1024, decimal ones (KB, MB, GB, TB; also K, M, G,
// T) powers of 1000, as Kubernetes' quantities and most tools write them; "B" or nothing
// means bytes. Units are case-insensitive. nullopt when malformed or above 2^63-1.
std::optional<int64_t> parse_size(const std::string& text);

// "host:port" -> parts; false when malformed. An "http://" prefix and a trailing "/" are
// accepted, as etcd's listen URLs are written (--listen-client-urls http://127.0.0.1:2379).
bool split_host_port(const std::string& text, std::string& host, uint16_t& port);

}  // namespace revkv::apps
