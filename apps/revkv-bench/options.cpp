#include "apps/revkv-bench/options.hpp"

#include "apps/revkv-bench/grpc_auth.hpp"

#include <CLI/CLI.hpp>

#include <charconv>

namespace revkv::bench {

std::optional<std::array<int, kOpCount>> parse_mix(const std::string& text) {
  std::array<int, kOpCount> mix{};
  int total = 0;
  std::string_view rest = text;
  while (!rest.empty()) {
    auto comma = rest.find(',');
    std::string_view item = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    auto eq = item.find('=');
    if (eq == std::string_view::npos) return std::nullopt;
    std::string_view name = item.substr(0, eq), weight = item.substr(eq + 1);
    int w = 0;
    auto [end, ec] = std::from_chars(weight.data(), weight.data() + weight.size(), w);
    if (ec != std::errc{} || end != weight.data() + weight.size() || w < 0) return std::nullopt;
    bool found = false;
    for (std::size_t i = 0; i < kOpCount; ++i) {
      if (name == kOpNames[i]) {
        mix[i] = w;
        found = true;
      }
    }
    if (!found) return std::nullopt;
    total += w;
  }
  if (total <= 0) return std::nullopt;
  return mix;
}

std::variant<Options, ParseExit> parse_options(const std::vector<std::string>& args) {
  Options o;
  std::string mix = "put=50,get=40,range=5,txn=5";
  CLI::App app("revkv-bench: closed-loop load generator for revkvd", "revkv-bench");
  app.add_option("--endpoint", o.endpoint, "HOST:PORT of the node")->envname("REVKV_ENDPOINT");
  app.add_option("--connections", o.connections, "TCP connections (one thread each)")
      ->check(CLI::Range(1, 4096));
  app.add_option("--inflight", o.inflight, "requests in flight per connection")
      ->check(CLI::Range(1, 65536));
  app.add_option("--duration", o.duration_s, "seconds to run")->check(CLI::PositiveNumber);
  app.add_option("--keys", o.keys, "size of the key space")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 40));
  app.add_option("--value-size", o.value_size, "bytes per value");
  app.add_option("--mix", mix, "op weights, e.g. put=50,get=40,range=5,txn=5");
  app.add_option("--range-size", o.range_size, "keys per range op, and per page of a list")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 30));
  app.add_flag("--json", o.json, "print the result as JSON");
  app.add_option("--output", o.output,
                 "also write the JSON report (with the preload's figures) to this file");
  app.add_flag("--preload", o.preload, "put every key once before measuring");
  app.add_option("--seed", o.seed, "random seed");
  app.add_flag("--watch", o.watch,
               "watch mode: puts only, delivered to --watchers single-key watchers");
  app.add_option("--watchers", o.watchers, "watch mode: watchers in all")
      ->check(CLI::Range(1, 1000000));
  app.add_option("--watch-streams", o.watch_streams,
                 "watch mode: connections the watchers are spread over (one thread each)")
      ->check(CLI::Range(1, 4096));
  app.add_option("--grpc", o.grpc,
                 "gRPC mode: HOST:PORT of etcd's v3 gRPC API (revkvd --listen-grpc, or etcd)");
  app.add_option("--clients", o.clients, "gRPC mode: clients, one request in flight each")
      ->check(CLI::Range(1, 100000));
  app.add_option("--conns", o.conns, "gRPC mode: channels (HTTP/2 connections) they share")
      ->check(CLI::Range(1, 4096));
  app.add_option("--grpc-threads", o.grpc_threads,
                 "gRPC mode: threads driving the clients (one completion queue each)")
      ->check(CLI::Range(1, 256));
  app.add_option("--cacert", o.cacert, "gRPC mode: TLS, verifying the node with this CA (PEM)");
  app.add_option("--cert", o.cert, "gRPC mode: TLS client certificate (PEM)");
  app.add_option("--key", o.key, "gRPC mode: TLS client key (PEM)");
  app.add_option("--user", o.user,
                 "gRPC mode: NAME:PASSWORD to authenticate as (etcd's auth; a token per channel)");
  app.add_option("--stall-ms", o.stall_ms,
                 "report requests slower than this (ms) and the 50 ms windows in which half the "
                 "connections or more had one: stalls of the whole pipeline (0: off)")
      ->check(CLI::Range(0, 3600000));
  try {
    std::vector<std::string> rest(args.rbegin(), args.rend() - (args.empty() ? 0 : 1));
    app.parse(rest);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return ParseExit{0, app.help(), ""};
    return ParseExit{1, "", std::string("Error: ") + e.what() + "\n"};
  }
  auto m = parse_mix(mix);
  if (!m)
    return ParseExit{1, "",
                     "Error: bad --mix " + mix +
                         " (want put=N,get=N,range=N,txn=N,grant=N,keepalive=N,list=N)\n"};
  o.mix = *m;
  if (!o.user.empty() && !o.use_grpc())
    return ParseExit{1, "", "Error: --user needs --grpc (the MessagePack door has no login)\n"};
  if (!o.user.empty() && !parse_user(o.user))
    return ParseExit{1, "", "Error: bad --user " + o.user + " (want NAME:PASSWORD)\n"};
  if (o.stall_ms > 0 && (o.use_grpc() || o.watch))
    return ParseExit{1, "", "Error: --stall-ms measures the MessagePack door's load only\n"};
  if (o.watch) o.mix = {1, 0, 0, 0, 0, 0, 0};  // the events come from puts
  return o;
}

}  // namespace revkv::bench
