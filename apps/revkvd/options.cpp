#include "apps/revkvd/options.hpp"

#include "auth/jwt.hpp"
#include "auth/token_spec.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <cctype>
#include <charconv>
#include <limits>
#include <netinet/in.h>
#include <string_view>
#include <thread>
#include <utility>

namespace revkv::apps {

void register_options(CLI::App& app, RawOptions& raw) {
  auto env = [](const char* name) { return std::string("REVKV_") + name; };
  app.add_option("--data-dir", raw.data_dir, "RocksDB directory; locked while the node runs")
      ->envname(env("DATA_DIR"))
      ->capture_default_str();
  app.add_option("--listen-client", raw.listen_client,
                 "MessagePack-RPC listener HOST:PORT (port 0 picks a free port)")
      ->envname(env("LISTEN_CLIENT"))
      ->capture_default_str();
  app.add_option("--listen-grpc", raw.listen_grpc,
                 "etcd v3 gRPC API listener HOST:PORT (port 0 picks a free port)")
      ->envname(env("LISTEN_GRPC"))
      ->capture_default_str();
  app.add_option("--grpc-doors", raw.grpc_doors,
                 "door actors sharing the gRPC calls, each with its own in-flight limit")
      ->envname(env("GRPC_DOORS"))
      ->capture_default_str();
  app.add_option("--grpc-engine", raw.grpc_engine,
                 "what serves HTTP/2 to gRPC clients: nghttp2 (revkv's own door) or grpc "
                 "(gRPC's C++ server)")
      ->envname(env("GRPC_ENGINE"))
      ->capture_default_str();
  app.add_option("--http2-loops", raw.http2_loops,
                 "event loop threads of the HTTP/2 door (--grpc-engine nghttp2); 0: one per "
                 "four cores, at least one")
      ->envname(env("HTTP2_LOOPS"))
      ->capture_default_str();
  app.add_option("--listen-metrics", raw.listen_metrics,
                 "/metrics and /health listener HOST:PORT (port 0 picks a free port)")
      ->envname(env("LISTEN_METRICS"))
      ->capture_default_str();
  app.add_option("--shards", raw.shards, "shard actors (default: the number of cores)")
      ->envname(env("SHARDS"));
  app.add_option("--sync", raw.sync, "always | interval:MS | never")
      ->envname(env("SYNC"))
      ->capture_default_str();
  app.add_option("--quota-backend-bytes", raw.quota_backend_bytes,
                 "NOSPACE alarm threshold (bytes, or with a unit: 8GiB, 500MB)")
      ->envname(env("QUOTA_BACKEND_BYTES"))
      ->capture_default_str();
  app.add_option("--max-request-bytes", raw.max_request_bytes,
                 "larger requests are refused (bytes, or with a unit: 1536KiB)")
      ->envname(env("MAX_REQUEST_BYTES"))
      ->capture_default_str();
  app.add_option("--auth-token-ttl", raw.auth_token_ttl,
                 "seconds an unused simple auth token stays valid (etcd's flag)")
      ->envname(env("AUTH_TOKEN_TTL"))
      ->capture_default_str();
  app.add_option("--auth-token", raw.auth_token,
                 "simple, or jwt,sign-method=RS256,priv-key=PATH[,pub-key=PATH][,ttl=5m] "
                 "(etcd's flag; docs/SECURITY.md \"JWT tokens\")")
      ->envname(env("AUTH_TOKEN"))
      ->capture_default_str();
  app.add_option("--max-txn-ops", raw.max_txn_ops, "more ops in a txn are refused")
      ->envname(env("MAX_TXN_OPS"))
      ->capture_default_str();
  app.add_option("--auto-compaction-mode", raw.auto_compaction_mode, "periodic | revision")
      ->envname(env("AUTO_COMPACTION_MODE"))
      ->capture_default_str();
  app.add_option("--auto-compaction-retention", raw.auto_compaction_retention,
                 "periodic: a duration (1h, 30m, 90s); revision: a count; 0 = off")
      ->envname(env("AUTO_COMPACTION_RETENTION"))
      ->capture_default_str();
  app.add_option("--auto-compaction-interval", raw.auto_compaction_interval,
                 "revision mode: how often to compact (etcd: 5m)")
      ->envname(env("AUTO_COMPACTION_INTERVAL"))
      ->capture_default_str();
  app.add_option("--lease-check-interval", raw.lease_check_interval,
                 "how often expired leases are looked for (etcd: 500ms)")
      ->envname(env("LEASE_CHECK_INTERVAL"))
      ->capture_default_str();
  app.add_option("--lease-revoke-rate", raw.lease_revoke_rate,
                 "expired leases revoked per second at most (etcd: 1000)")
      ->envname(env("LEASE_REVOKE_RATE"))
      ->capture_default_str();
  app.add_option("--watch-progress-notify-interval", raw.watch_progress_notify_interval,
                 "periodic watch progress notifications (etcd: 10m; at least 100ms)")
      ->envname(env("WATCH_PROGRESS_NOTIFY_INTERVAL"))
      ->capture_default_str();
  app.add_option("--max-snapshots", raw.max_snapshots,
                 "snapshot streams at once; one more is refused (too many requests)")
      ->envname(env("MAX_SNAPSHOTS"))
      ->capture_default_str();
  app.add_option("--snapshot-idle-timeout", raw.snapshot_idle_timeout,
                 "a snapshot stream whose client takes nothing for this long is dropped")
      ->envname(env("SNAPSHOT_IDLE_TIMEOUT"))
      ->capture_default_str();
  app.add_option("--block-cache-bytes", raw.block_cache_bytes,
                 "RocksDB block cache (bytes, or with a unit: 8MiB)")
      ->envname(env("BLOCK_CACHE_BYTES"))
      ->capture_default_str();
  app.add_option("--name", raw.name, "this member's name in the cluster (--initial-cluster)")
      ->envname(env("NAME"))
      ->capture_default_str();
  app.add_option("--listen-peer", raw.listen_peer,
                 "HOST:PORT (IPv4) this member's Raft listener binds (cluster mode; default: "
                 "its address in --initial-cluster, which peers dial; may differ, e.g. 0.0.0.0 "
                 "or behind a proxy)")
      ->envname(env("LISTEN_PEER"));
  app.add_option("--listen-catchup", raw.listen_catchup,
                 "HOST:PORT where this member hands a checkpoint of its store to a member that "
                 "is behind (cluster mode; default: the peer host, a free port)")
      ->envname(env("LISTEN_CATCHUP"));
  app.add_option("--initial-cluster", raw.initial_cluster,
                 "NAME=HOST:PORT,... the members of a new cluster (IPv4 hosts); unset: a single "
                 "node without Raft")
      ->envname(env("INITIAL_CLUSTER"));
  app.add_option("--initial-cluster-state", raw.initial_cluster_state,
                 "new (bootstrap a cluster) or existing (join a running cluster that added this "
                 "member with member add)")
      ->envname(env("INITIAL_CLUSTER_STATE"))
      ->capture_default_str();
  app.add_option("--heartbeat-interval", raw.heartbeat_interval,
                 "milliseconds between a leader's heartbeats (etcd's flag; in cluster mode "
                 "only its default, 100, for now)")
      ->envname(env("HEARTBEAT_INTERVAL"))
      ->capture_default_str();
  app.add_option("--election-timeout", raw.election_timeout,
                 "milliseconds a follower waits for its leader before it stands for election; "
                 "at least 5 heartbeat intervals, at most 50000 (etcd's flag: sets the leases' "
                 "minimum TTL and restart extension, as etcd's; in cluster mode only its "
                 "default, 1000, for now)")
      ->envname(env("ELECTION_TIMEOUT"))
      ->capture_default_str();
  app.add_option("--log-level", raw.log_level, "debug | info | warn | error")
      ->envname(env("LOG_LEVEL"))
      ->capture_default_str();
  app.add_option("--log-format", raw.log_format,
                 "json (one JSON object per line) | text; stderr, every log line")
      ->envname(env("LOG_FORMAT"))
      ->capture_default_str();
  // etcd's names; in the YAML file also etcd's client-transport-security map
  // (apps/revkvd/yaml_config.hpp).
  app.add_option("--cert-file", raw.cert_file,
                 "TLS certificate (PEM, chain allowed) of both client doors; with --key-file "
                 "they accept TLS only. Reloaded on SIGHUP")
      ->envname(env("CERT_FILE"));
  app.add_option("--key-file", raw.key_file, "TLS private key (PEM) of --cert-file")
      ->envname(env("KEY_FILE"));
  app.add_option("--trusted-ca-file", raw.trusted_ca_file,
                 "CA certificates (PEM) client certificates are verified against")
      ->envname(env("TRUSTED_CA_FILE"));
  app.add_flag("--client-cert-auth", raw.client_cert_auth,
               "require a client certificate signed by --trusted-ca-file")
      ->envname(env("CLIENT_CERT_AUTH"));
  // etcd's peer TLS names; in the YAML file also etcd's peer-transport-security map.
  app.add_option("--peer-cert-file", raw.peer_cert_file,
                 "TLS certificate (PEM) of this member's Raft traffic, served on the peer port "
                 "and presented to the members it connects to (cluster mode; with "
                 "--peer-key-file and --peer-trusted-ca-file). Reloaded on SIGHUP")
      ->envname(env("PEER_CERT_FILE"));
  app.add_option("--peer-key-file", raw.peer_key_file, "TLS private key (PEM) of --peer-cert-file")
      ->envname(env("PEER_KEY_FILE"));
  app.add_option("--peer-trusted-ca-file", raw.peer_trusted_ca_file,
                 "CA certificates (PEM) every member's peer certificate must chain to")
      ->envname(env("PEER_TRUSTED_CA_FILE"));
  app.add_flag("--peer-client-cert-auth", raw.peer_client_cert_auth,
               "as etcd's; implied: with peer TLS, a connecting member must always present a "
               "certificate from --peer-trusted-ca-file")
      ->envname(env("PEER_CLIENT_CERT_AUTH"));
  // Test-only: lets the whole-process tests kill a core actor (POST /debug/kill on the
  // metrics listener, docs/NODE.md "Supervision"). Hidden from --help (group ""), and
  // neither a config key nor an environment variable, so that a deployed node cannot
  // switch it on by accident.
  app.add_flag("--test-hooks", raw.test_hooks, "test only: POST /debug/kill?actor=NAME")
      ->group("")
      ->configurable(false);
}

std::optional<std::chrono::milliseconds> parse_duration(const std::string& text) {
  if (text.empty()) return std::nullopt;
  double value = 0;
  const char* first = text.data();
  const char* last = text.data() + text.size();
  auto [end, ec] = std::from_chars(first, last, value);
  if (ec != std::errc{} || value < 0) return std::nullopt;
  std::string unit(end, last);
  double ms = 0;
  if (unit.empty() || unit == "h") {
    ms = value * 3600e3;
  } else if (unit == "m") {
    ms = value * 60e3;
  } else if (unit == "s") {
    ms = value * 1e3;
  } else if (unit == "ms") {
    ms = value;
  } else {
    return std::nullopt;
  }
  return std::chrono::milliseconds(static_cast<int64_t>(ms));
}

std::optional<int64_t> parse_size(const std::string& text) {
  const char* first = text.data();
  const char* last = text.data() + text.size();
  // Integers exactly (a byte count may need all 63 bits); a fraction only with a unit.
  int64_t whole = 0;
  auto [int_end, int_ec] = std::from_chars(first, last, whole);
  if (int_ec != std::errc{} || whole < 0) return std::nullopt;
  double value = static_cast<double>(whole);
  const char* unit_begin = int_end;
  bool fractional = false;
  if (int_end != last && *int_end == '.') {
    auto [end, ec] = std::from_chars(first, last, value);
    if (ec != std::errc{}) return std::nullopt;
    unit_begin = end;
    fractional = true;
  }
  std::string unit;
  for (const char* c = unit_begin; c != last; ++c)
    unit += static_cast<char>(std::tolower(static_cast<unsigned char>(*c)));
  if (!unit.empty() && unit.back() == 'b') unit.pop_back();  // "KiB", "KB", "B"
  static constexpr std::pair<std::string_view, double> kUnits[] = {
      {"", 1},           {"k", 1e3},           {"m", 1e6},
      {"g", 1e9},        {"t", 1e12},          {"ki", 1024.0},
      {"mi", 1048576.0}, {"gi", 1073741824.0}, {"ti", 1099511627776.0},
  };
  for (const auto& [name, factor] : kUnits) {
    if (unit != name) continue;
    if (factor == 1) {
      if (fractional) return std::nullopt;  // a fraction of a byte
      return whole;
    }
    const double bytes = value * factor;
    if (bytes >= 9.2e18) return std::nullopt;
    return static_cast<int64_t>(bytes);
  }
  return std::nullopt;
}

bool split_host_port(const std::string& input, std::string& host, uint16_t& port) {
  std::string_view text = input;
  if (text.rfind("http://", 0) == 0) text.remove_prefix(7);
  if (!text.empty() && text.back() == '/') text.remove_suffix(1);
  auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  host = std::string(text.substr(0, colon));
  if (host.find('/') != std::string::npos) return false;  // another scheme, or a path
  const char* first = text.data() + colon + 1;
  const char* last = text.data() + text.size();
  unsigned value = 0;
  auto [end, ec] = std::from_chars(first, last, value);
  if (ec != std::errc{} || end != last || first == last || value > 65535) return false;
  port = static_cast<uint16_t>(value);
  return true;
}

namespace {

// One listen flag: HOST:PORT or http://HOST:PORT[/]; a clear line naming the flag if not.
bool parse_listen(const char* flag, const std::string& text, std::string& host, uint16_t& port,
                  std::string& error) {
  // https:// says TLS, which --cert-file/--key-file turn on (checked by the caller).
  if (text.rfind("https://", 0) == 0 && split_host_port(text.substr(8), host, port)) return true;
  if (split_host_port(text, host, port)) return true;
  error = std::string(flag) + ": expected HOST:PORT or http://HOST:PORT, got '" + text + "'";
  return false;
}

// A size flag through parse_size, within [min, max].
std::optional<int64_t> parse_size_flag(const char* flag, const std::string& text, int64_t min,
                                       int64_t max, std::string& error) {
  auto value = parse_size(text);
  if (!value) {
    error = std::string(flag) + ": expected a byte count such as 1572864, 8MiB or 2GiB, got '" +
            text + "'";
    return std::nullopt;
  }
  if (*value < min || *value > max) {
    error = std::string(flag) + ": expected " + std::to_string(min) + " to " + std::to_string(max) +
            " bytes, got '" + text + "'";
    return std::nullopt;
  }
  return value;
}

// Cluster mode: --initial-cluster names the members and the addresses peers dial (etcd's
// advertised peer URLs); --name must be one of them. --listen-peer (when given) is where
// this member binds instead: an IPv4 literal, since libraft parses it with uv_ip4_addr.
// Peer TLS: all three files or none, and only in cluster mode. A member's certificate is
// always asked for and verified (docs/CLUSTER.md "Peer TLS": whoever reaches the peer port
// unauthenticated could vote and append entries), so --peer-client-cert-auth is implied.
bool resolve_peer_tls(const RawOptions& raw, DaemonOptions& out, std::string& error) {
  const bool any = !raw.peer_cert_file.empty() || !raw.peer_key_file.empty() ||
                   !raw.peer_trusted_ca_file.empty() || raw.peer_client_cert_auth;
  if (!any) return true;
  if (raw.initial_cluster.empty()) {
    error =
        "--peer-cert-file, --peer-key-file, --peer-trusted-ca-file, --peer-client-cert-auth: "
        "only in cluster mode (with --initial-cluster)";
    return false;
  }
  if (raw.peer_cert_file.empty() && raw.peer_key_file.empty()) {
    error = std::string(raw.peer_client_cert_auth && raw.peer_trusted_ca_file.empty()
                            ? "--peer-client-cert-auth"
                            : "--peer-trusted-ca-file") +
            " needs --peer-cert-file and --peer-key-file";
    return false;
  }
  if (raw.peer_cert_file.empty()) {
    error = "--peer-key-file needs --peer-cert-file";
    return false;
  }
  if (raw.peer_key_file.empty()) {
    error = "--peer-cert-file needs --peer-key-file";
    return false;
  }
  if (raw.peer_trusted_ca_file.empty()) {
    error =
        "--peer-cert-file needs --peer-trusted-ca-file (the CA every member's certificate must "
        "chain to: members verify each other both ways)";
    return false;
  }
  out.peer_tls.cert_file = raw.peer_cert_file;
  out.peer_tls.key_file = raw.peer_key_file;
  out.peer_tls.trusted_ca_file = raw.peer_trusted_ca_file;
  out.peer_tls.client_cert_auth = true;
  out.peer_tls.flag_prefix = "peer-";
  return true;
}

// etcd's checks of --heartbeat-interval and --election-timeout, in its order and words
// (etcd refuses a negative value earlier, as a flag it cannot parse; revkvd with the same
// sentence as zero). Raft counts in ticks of one heartbeat interval, so etcd's lease timing
// is whole ticks: the minimum TTL is 1.5 election timeouts in ticks, rounded up to a second;
// the restart extension one election timeout in ticks.
bool resolve_raft_timing(const RawOptions& raw, DaemonOptions& out, std::string& error) {
  const int64_t heartbeat = raw.heartbeat_interval, election = raw.election_timeout;
  if (heartbeat <= 0) {
    error = "--heartbeat-interval must be >0 (set to " + std::to_string(heartbeat) + "ms)";
    return false;
  }
  if (election <= 0) {
    error = "--election-timeout must be >0 (set to " + std::to_string(election) + "ms)";
    return false;
  }
  if (heartbeat > election / 5) {  // 5 * heartbeat > election, without overflow
    error = "--election-timeout[" + std::to_string(election) +
            "ms] should be at least as 5 times as --heartbeat-interval[" +
            std::to_string(heartbeat) + "ms]";
    return false;
  }
  if (election > 50000) {
    error = "--election-timeout[" + std::to_string(election) +
            "ms] is too long, and should be set less than 50000ms";
    return false;
  }
  // Cluster mode: a leader answers linearizable reads within a lease that is safe only if
  // no follower can stand for election sooner than the leader's own timeout says
  // (docs/CLUSTER.md "Linearizable reads"). Until members exchange and check their timing,
  // every member runs etcd's defaults.
  if (!raw.initial_cluster.empty() && (heartbeat != 100 || election != 1000)) {
    error =
        "--heartbeat-interval and --election-timeout: only etcd's defaults (100 and 1000) in "
        "cluster mode (every member's read lease relies on the same timing; docs/CLUSTER.md)";
    return false;
  }
  out.heartbeat_interval_ms = static_cast<unsigned>(heartbeat);
  out.election_timeout_ms = static_cast<unsigned>(election);
  const int64_t ticks = election / heartbeat;
  const int64_t min_ttl_ms = (3 * ticks) / 2 * heartbeat;
  out.node.options.min_lease_ttl = (min_ttl_ms + 999) / 1000;
  out.node.options.lease_restart_extension = std::chrono::milliseconds(ticks * heartbeat);
  return true;
}

bool resolve_cluster(const RawOptions& raw, DaemonOptions& out, std::string& error) {
  out.name = raw.name;
  if (!resolve_peer_tls(raw, out, error)) return false;
  if (raw.initial_cluster_state != "new" && raw.initial_cluster_state != "existing") {
    error = "--initial-cluster-state: expected new or existing, got '" + raw.initial_cluster_state +
            "'";
    return false;
  }
  if (raw.initial_cluster.empty()) {
    if (!raw.listen_peer.empty()) {
      error = "--listen-peer: only in cluster mode (with --initial-cluster)";
      return false;
    }
    if (!raw.listen_catchup.empty()) {
      error = "--listen-catchup: only in cluster mode (with --initial-cluster)";
      return false;
    }
    return true;
  }
  try {
    out.initial_cluster = cluster::parse_initial_cluster(raw.initial_cluster);
  } catch (const std::exception& e) {
    error = std::string("--initial-cluster: ") + e.what();
    return false;
  }
  auto self = std::find_if(out.initial_cluster.begin(), out.initial_cluster.end(),
                           [&](const cluster::Member& m) { return m.name == raw.name; });
  if (self == out.initial_cluster.end()) {
    error = "--name '" + raw.name + "' is not one of the members of --initial-cluster";
    return false;
  }
  out.peer_address = self->address;
  out.join = raw.initial_cluster_state == "existing";
  // A joining member was added by its peer URL alone (MemberAdd has no name): the leader
  // derived its id from that address, and so does the member.
  out.member_id = out.join ? cluster::joined_member_id(self->address) : self->id;
  if (!raw.listen_peer.empty()) {
    std::string host;
    uint16_t port = 0;
    if (!parse_listen("--listen-peer", raw.listen_peer, host, port, error)) return false;
    in_addr parsed{};
    if (::inet_pton(AF_INET, host.c_str(), &parsed) != 1) {
      error = "--listen-peer: host '" + host +
              "' is not an IPv4 address (libraft binds IPv4 literals only), in '" +
              raw.listen_peer + "'";
      return false;
    }
    if (port == 0) {
      error = "--listen-peer: port 0 in '" + raw.listen_peer +
              "' (peers dial the address in --initial-cluster; pick the port)";
      return false;
    }
    out.peer_listen = host + ":" + std::to_string(port);
    if (out.peer_listen == self->address) out.peer_listen.clear();
  }
  out.catchup_host = self->address.substr(0, self->address.rfind(':'));
  if (!raw.listen_catchup.empty() && !parse_listen("--listen-catchup", raw.listen_catchup,
                                                   out.catchup_host, out.catchup_port, error))
    return false;
  return true;
}

}  // namespace

std::optional<DaemonOptions> resolve_options(const RawOptions& raw, std::string& error) {
  DaemonOptions out;
  auto& node = out.node;
  node.data_dir = raw.data_dir;
  if (!parse_listen("--listen-client", raw.listen_client, node.client_host, node.client_port,
                    error) ||
      !parse_listen("--listen-metrics", raw.listen_metrics, out.metrics_host, out.metrics_port,
                    error)) {
    return std::nullopt;
  }
  if (raw.grpc_doors < 1 || raw.grpc_doors > 4096) {
    error = "--grpc-doors: expected 1 to 4096, got " + std::to_string(raw.grpc_doors);
    return std::nullopt;
  }
  out.grpc_doors = static_cast<size_t>(raw.grpc_doors);
  if (raw.http2_loops < 0 || raw.http2_loops > 64) {
    error = "--http2-loops: expected 0 to 64, got " + std::to_string(raw.http2_loops);
    return std::nullopt;
  }
  out.http2_loops = static_cast<size_t>(raw.http2_loops);
  if (raw.grpc_engine == "nghttp2") {
    out.grpc_engine = etcdapi::GrpcEngine::nghttp2;
  } else if (raw.grpc_engine == "grpc") {
    out.grpc_engine = etcdapi::GrpcEngine::grpc;
  } else {
    error = "--grpc-engine: expected nghttp2 or grpc, got '" + raw.grpc_engine + "'";
    return std::nullopt;
  }
  if (!parse_listen("--listen-grpc", raw.listen_grpc, out.grpc_host, out.grpc_port, error))
    return std::nullopt;
  if (raw.shards < 0 || raw.shards > 1024) {
    error = "--shards: expected 1..1024";
    return std::nullopt;
  }
  node.options.shards = raw.shards == 0 ? std::max(1u, std::thread::hardware_concurrency())
                                        : static_cast<size_t>(raw.shards);
  if (raw.sync == "always") {
    node.options.sync = actors::SyncMode::always;
  } else if (raw.sync == "never") {
    node.options.sync = actors::SyncMode::never;
  } else if (raw.sync.rfind("interval:", 0) == 0) {
    int64_t ms = 0;
    const char* first = raw.sync.data() + 9;
    const char* last = raw.sync.data() + raw.sync.size();
    auto [end, ec] = std::from_chars(first, last, ms);
    if (ec != std::errc{} || end != last || ms <= 0) {
      error = "--sync: interval:MS needs a positive number of milliseconds";
      return std::nullopt;
    }
    node.options.sync = actors::SyncMode::interval;
    node.options.sync_interval_ms = ms;
  } else {
    error = "--sync: expected always, interval:MS or never, got '" + raw.sync + "'";
    return std::nullopt;
  }
  node.backend.sync = false;  // the backend actor syncs the WAL itself (group commit)
  auto quota = parse_size_flag("--quota-backend-bytes", raw.quota_backend_bytes, 0,
                               std::numeric_limits<int64_t>::max(), error);
  if (!quota) return std::nullopt;
  node.options.quota_backend_bytes = *quota;
  auto max_request =
      parse_size_flag("--max-request-bytes", raw.max_request_bytes, 1, 64 << 20, error);
  if (!max_request) return std::nullopt;
  node.options.max_request_bytes = static_cast<size_t>(*max_request);
  if (raw.max_txn_ops <= 0) {
    error = "--max-txn-ops: expected a positive number";
    return std::nullopt;
  }
  node.options.max_txn_ops = raw.max_txn_ops;
  if (raw.auth_token_ttl <= 0) {
    error = "--auth-token-ttl: expected a positive number (seconds)";
    return std::nullopt;
  }
  node.options.auth_token_ttl = std::chrono::seconds(raw.auth_token_ttl);
  auto token_spec = auth::parse_token_spec(raw.auth_token);
  if (auto* why = std::get_if<std::string>(&token_spec)) {
    error = *why;
    return std::nullopt;
  }
  if (auto& spec = std::get<auth::TokenSpec>(token_spec); spec.kind == auth::TokenSpec::Kind::jwt) {
    // The key files are read and checked now: a bad key is a startup error, not a failed
    // Authenticate later.
    auto jwt = auth::JwtTokens::load(spec);
    if (auto* why = std::get_if<std::string>(&jwt)) {
      error = *why;
      return std::nullopt;
    }
    node.options.auth_jwt = std::get<std::shared_ptr<const auth::JwtTokens>>(std::move(jwt));
  }
  if (raw.auto_compaction_mode != "periodic" && raw.auto_compaction_mode != "revision") {
    error = "--auto-compaction-mode: expected periodic or revision";
    return std::nullopt;
  }
  out.auto_compaction_mode = raw.auto_compaction_mode;
  out.auto_compaction_retention = raw.auto_compaction_retention;
  auto& ac = node.options.auto_compaction;
  if (raw.auto_compaction_mode == "revision") {
    ac.mode = actors::AutoCompaction::Mode::revision;
    int64_t count = -1;
    const auto& r = raw.auto_compaction_retention;
    auto [end, ec] = std::from_chars(r.data(), r.data() + r.size(), count);
    if (ec != std::errc{} || end != r.data() + r.size() || count < 0) {
      error = "--auto-compaction-retention: revision mode needs a revision count";
      return std::nullopt;
    }
    ac.revisions = count;
    auto every = parse_duration(raw.auto_compaction_interval);
    if (!every || every->count() <= 0) {
      error = "--auto-compaction-interval: expected a duration such as 5m or 30s";
      return std::nullopt;
    }
    ac.revision_check_interval = *every;
  } else {
    auto period = parse_duration(raw.auto_compaction_retention);
    if (!period) {
      error = "--auto-compaction-retention: periodic mode needs a duration (1h, 30m, 90s)";
      return std::nullopt;
    }
    ac.mode = actors::AutoCompaction::Mode::periodic;
    ac.period = *period;
  }
  auto lease_check = parse_duration(raw.lease_check_interval);
  if (!lease_check || lease_check->count() <= 0) {
    error = "--lease-check-interval: expected a duration such as 500ms or 1s";
    return std::nullopt;
  }
  node.options.lease_check_interval = *lease_check;
  if (raw.lease_revoke_rate <= 0) {
    error = "--lease-revoke-rate: expected a positive number";
    return std::nullopt;
  }
  node.options.lease_revoke_rate = raw.lease_revoke_rate;
  if (!resolve_raft_timing(raw, out, error)) return std::nullopt;
  auto progress = parse_duration(raw.watch_progress_notify_interval);
  if (!progress || progress->count() < 100) {
    error = "--watch-progress-notify-interval: expected a duration of at least 100ms";
    return std::nullopt;
  }
  node.options.watch_progress_interval = *progress;
  if (raw.max_snapshots < 1 || raw.max_snapshots > 1024) {
    error = "--max-snapshots: expected 1 to 1024, got " + std::to_string(raw.max_snapshots);
    return std::nullopt;
  }
  node.options.max_snapshots = static_cast<size_t>(raw.max_snapshots);
  auto snapshot_idle = parse_duration(raw.snapshot_idle_timeout);
  if (!snapshot_idle || snapshot_idle->count() < 100) {
    error = "--snapshot-idle-timeout: expected a duration of at least 100ms";
    return std::nullopt;
  }
  node.options.snapshot_idle_timeout = *snapshot_idle;
  auto block_cache = parse_size_flag("--block-cache-bytes", raw.block_cache_bytes, 1 << 20,
                                     std::numeric_limits<int64_t>::max(), error);
  if (!block_cache) return std::nullopt;
  node.backend.block_cache_bytes = static_cast<uint64_t>(*block_cache);
  if (raw.log_level != "debug" && raw.log_level != "info" && raw.log_level != "warn" &&
      raw.log_level != "error") {
    error = "--log-level: expected debug, info, warn or error";
    return std::nullopt;
  }
  out.log_level = raw.log_level;
  if (raw.log_format != "json" && raw.log_format != "text") {
    error = "--log-format: expected json or text, got '" + raw.log_format + "'";
    return std::nullopt;
  }
  out.log_format = raw.log_format;
  out.tls.cert_file = raw.cert_file;
  out.tls.key_file = raw.key_file;
  out.tls.trusted_ca_file = raw.trusted_ca_file;
  out.tls.client_cert_auth = raw.client_cert_auth;
  if (error = out.tls.check(); !error.empty()) return std::nullopt;
  const std::pair<const char*, const std::string*> doors[] = {
      {"--listen-client", &raw.listen_client}, {"--listen-grpc", &raw.listen_grpc}};
  for (const auto& [flag, listen] : doors) {
    if (listen->rfind("https://", 0) == 0 && !out.tls.enabled()) {
      error = std::string(flag) + ": '" + *listen +
              "': https:// needs TLS: set --cert-file and --key-file";
      return std::nullopt;
    }
  }
  out.test_hooks = raw.test_hooks;
  if (!resolve_cluster(raw, out, error)) return std::nullopt;
  return out;
}

}  // namespace revkv::apps
