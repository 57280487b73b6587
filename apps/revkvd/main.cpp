// revkvd: the revkv node. Reads flags, environment and an optional YAML config file,
// opens the data directory, starts the actors and the listeners, prints one ready line,
// and shuts down cleanly on SIGINT/SIGTERM.

#include "actors/node.hpp"
#include "apps/revkvd/options.hpp"
#include "apps/revkvd/yaml_config.hpp"
#include "metrics/health.hpp"
#include "metrics/http_server.hpp"
#include "metrics/node_metrics.hpp"
#include "metrics/state_collector.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <csignal>
#include <iostream>
#include <thread>

namespace {

constexpr const char* kVersion = "0.1.0";

int fail(const std::string& message) {
  std::cerr << "revkvd: " << message << std::endl;
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"revkvd: an etcd-v3-style multi-version key-value node", "revkvd"};
  app.set_version_flag("--version", std::string("revkvd ") + kVersion);
  app.config_formatter(std::make_shared<revkv::apps::YamlConfig>());
  app.set_config("--config", "", "YAML config file");
  revkv::apps::RawOptions raw;
  revkv::apps::register_options(app, raw);
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

  auto logger = spdlog::stderr_color_mt("revkvd");
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(options->log_level));
  spdlog::set_pattern(R"({"ts":"%Y-%m-%dT%H:%M:%S.%e","level":"%l","msg":"%v"})");

  // SIGINT/SIGTERM are handled by sigwait below; every thread started from here on
  // inherits the blocked mask, so no actor thread is interrupted by them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  // /health answers 503 "starting" until the node serves, so the listener can come up
  // first and a busy metrics port fails before the data directory is opened.
  revkv::metrics::NodeHealth health;
  std::unique_ptr<revkv::metrics::HttpServer> http;
  try {
    http = std::make_unique<revkv::metrics::HttpServer>(
        options->metrics_host, options->metrics_port, [&health] { return health.check(); });
  } catch (const std::exception& e) {
    return fail("cannot listen on " + options->metrics_host + ":" +
                std::to_string(options->metrics_port) + " for metrics: " + e.what());
  }

  caf::actor_system_config cfg;
  cfg.load<caf::io::middleman>();
  cfg.set("scheduler.max-threads",
          static_cast<int>(std::max(2u, std::thread::hardware_concurrency())));
  cfg.set("logger.console", caf::atom("none"));
  caf::actor_system sys{cfg};

  // Registered before the node starts so that its first requests are counted; the
  // listener keeps weak pointers, these keep the collectables alive until main returns.
  auto node_metrics = std::make_shared<revkv::metrics::NodeMetrics>(kVersion);
  http->add_collectable(node_metrics->registry());
  options->node.metrics = node_metrics;
  auto node = revkv::actors::Node::start(sys, options->node);
  if (!node.ok()) {
    const auto& msg = node.error().message();
    if (msg.find("lock") != std::string::npos) {
      return fail("data directory " + options->node.data_dir +
                  " is locked by another node: " + msg);
    }
    return fail(msg);
  }
  auto state_metrics = revkv::metrics::make_state_collector((*node)->context());
  http->add_collectable(state_metrics);
  health.serving((*node)->context());

  std::cout << "revkvd ready client=" << options->node.client_host << ":" << (*node)->client_port()
            << " metrics=" << options->metrics_host << ":" << http->port() << std::endl;
  spdlog::info("serving data_dir={} shards={} revision={}", options->node.data_dir,
               options->node.options.shards, (*node)->context()->watermark.load());

  int signal = 0;
  sigwait(&stop_signals, &signal);
  spdlog::info("signal {}: shutting down", signal);
  health.stopping();
  auto stopped = (*node)->stop();
  if (!stopped.ok()) {
    spdlog::error("shutdown: {}", stopped.error().message());
    return 1;
  }
  spdlog::info("stopped");
  return 0;
}
