#include "apps/revkvd/listeners.hpp"

#include "util/bind_probe.hpp"

#include <vector>

namespace revkv::apps {

std::string unavailable_listener(const DaemonOptions& options) {
  struct Listener {
    const char* flag;
    const std::string& host;
    uint16_t port;
  };
  const std::vector<Listener> listeners = {
      {"--listen-client", options.node.client_host, options.node.client_port},
      {"--listen-grpc", options.grpc_host, options.grpc_port},
      {"--listen-metrics", options.metrics_host, options.metrics_port},
  };
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

}  // namespace revkv::apps
