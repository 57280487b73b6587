#include "apps/revkvd/listeners.hpp"

#include "util/bind_probe.hpp"

#include <arpa/inet.h>
#include <vector>

namespace revkv::apps {

std::string unavailable_listener(const DaemonOptions& options) {
  struct Listener {
    const char* flag;
    const std::string& host;
    uint16_t port;
  };
  std::vector<Listener> listeners = {
      {"--listen-client", options.node.client_host, options.node.client_port},
      {"--listen-grpc", options.grpc_host, options.grpc_port},
      {"--listen-metrics", options.metrics_host, options.metrics_port},
  };
  // Cluster mode's catch-up port, when fixed (docs/CLUSTER.md).
  if (options.clustered())
    listeners.push_back({"--listen-catchup", options.catchup_host, options.catchup_port});
  auto where = [](const Listener& l) { return l.host + ":" + std::to_string(l.port); };
  // Two flags naming one address first: that is the configuration's mistake, whatever a
  // bind would say (a low port may fail for want of privilege first).
  for (size_t i = 0; i < listeners.size(); ++i) {
    const auto& l = listeners[i];
    if (l.port == 0) continue;  // a free port is picked
    for (size_t j = 0; j < i; ++j) {
      if (listeners[j].port == l.port && listeners[j].host == l.host)
        return std::string(l.flag) + " and " + listeners[j].flag + " both name " + where(l);
    }
  }
  for (const auto& l : listeners) {
    if (l.port == 0) continue;
    if (auto reason = util::bind_failure(l.host, l.port); !reason.empty())
      return std::string("cannot listen on ") + where(l) + " (" + l.flag + "): " + reason;
  }
  return {};
}

bool is_loopback(const std::string& host) {
  if (host == "localhost") return true;
  in_addr v4{};
  if (::inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  std::string bare = host;
  if (bare.size() > 2 && bare.front() == '[' && bare.back() == ']')
    bare = bare.substr(1, bare.size() - 2);
  in6_addr v6{};
  if (::inet_pton(AF_INET6, bare.c_str(), &v6) == 1) return IN6_IS_ADDR_LOOPBACK(&v6);
  return false;  // a name other than localhost, or 0.0.0.0 / ::: beyond loopback
}

std::vector<std::string> plaintext_beyond_loopback(const DaemonOptions& options) {
  std::vector<std::string> out;
  if (options.clustered() && !options.peer_tls.enabled()) {
    // Where it binds decides who reaches it: the advertised address unless --listen-peer.
    const std::string& bound =
        options.peer_listen.empty() ? options.peer_address : options.peer_listen;
    const auto colon = bound.rfind(':');
    if (!is_loopback(bound.substr(0, colon))) {
      out.push_back("peer address " + bound +
                    " is beyond loopback without peer TLS: whoever reaches it reads every "
                    "replicated write and can speak Raft to this member; set "
                    "--peer-cert-file, --peer-key-file and --peer-trusted-ca-file "
                    "(docs/SECURITY.md \"Peer TLS\")");
    }
  }
  if (options.tls.enabled()) return out;
  const std::pair<const char*, std::string> doors[] = {
      {"--listen-client",
       options.node.client_host + ":" + std::to_string(options.node.client_port)},
      {"--listen-grpc", options.grpc_host + ":" + std::to_string(options.grpc_port)},
  };
  const std::string* hosts[] = {&options.node.client_host, &options.grpc_host};
  for (size_t i = 0; i < 2; ++i) {
    if (is_loopback(*hosts[i])) continue;
    out.push_back(std::string(doors[i].first) + " " + doors[i].second +
                  " listens beyond loopback without TLS: whoever reaches it reads and writes "
                  "every key, in clear; set --cert-file and --key-file (docs/SECURITY.md)");
  }
  return out;
}

}  // namespace revkv::apps
