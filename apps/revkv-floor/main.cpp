// revkv-floor: the cheapest server of etcd's KV.Range each HTTP/2 stack allows, on
// gRPC's C++ server or on libnghttp2, for `bench/door-floor` (docs/BENCH_TOOL.md,
// docs/BENCHMARKS.md "The floor of a gRPC door"). Prints one ready line, serves until
// SIGTERM or SIGINT.

#include "apps/revkv-floor/grpc_floor.hpp"
#include "apps/revkv-floor/http2_floor.hpp"

#include <CLI/CLI.hpp>

#include <absl/synchronization/mutex.h>
#include <csignal>
#include <iostream>
#include <memory>
#include <pthread.h>
#include <string>
#include <variant>

int main(int argc, char** argv) {
  // As revkvd does: Debian's Abseil would track the lock order of every gRPC mutex.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  CLI::App app("revkv-floor: etcd's KV.Range answered with one fixed response, nothing else",
               "revkv-floor");
  std::string stack = "http2";
  bool hop = false;
  uint16_t port = 0;
  app.add_option("--stack", stack, "grpc (gRPC's C++ server) or http2 (libnghttp2)")
      ->check(CLI::IsMember({"grpc", "http2"}));
  app.add_flag("--hop", hop, "finish each call on a worker thread, as revkvd's actors do");
  app.add_option("--port", port, "port on 127.0.0.1 (0: a free one)");
  CLI11_PARSE(app, argc, argv);

  // Every thread started from here on blocks the stop signals; this one waits for them.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);

  std::variant<std::monostate, std::unique_ptr<revkv::floor::GrpcFloorServer>,
               std::unique_ptr<revkv::floor::Http2FloorServer>>
      server;
  uint16_t bound = 0;
  try {
    if (stack == "grpc") {
      auto s = std::make_unique<revkv::floor::GrpcFloorServer>(port, hop);
      bound = s->port();
      server = std::move(s);
    } else {
      auto s = std::make_unique<revkv::floor::Http2FloorServer>(port, hop);
      bound = s->port();
      server = std::move(s);
    }
  } catch (const std::exception& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
  std::cout << "revkv-floor ready stack=" << stack << " hop=" << (hop ? 1 : 0) << " port=" << bound
            << std::endl;
  int signal = 0;
  sigwait(&stop, &signal);
  return 0;
}
