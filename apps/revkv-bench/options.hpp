#pragma once

// revkv-bench's flags (docs/BENCH_TOOL.md).

#include <array>
#include <chrono>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace revkv::bench {

// `list` is one page of a LIST (workload.hpp's ListCursor): a LIST, once started, takes its
// client's (or pipeline slot's) next requests until its last page.
enum class Op { put = 0, get = 1, range = 2, txn = 3, grant = 4, keepalive = 5, list = 6 };
inline constexpr std::array<const char*, 7> kOpNames = {"put",   "get",       "range", "txn",
                                                        "grant", "keepalive", "list"};
inline constexpr std::size_t kOpCount = kOpNames.size();

struct Options {
  std::string endpoint = "127.0.0.1:7379";
  int connections = 4;
  int inflight = 16;  // per connection
  double duration_s = 10;
  int64_t keys = 10000;
  std::size_t value_size = 256;
  std::array<int, kOpCount> mix = {50, 40, 5, 5, 0, 0};  // weights, by Op
  int64_t range_size = 100;  // keys per range op, and the page size (limit) of a LIST
  bool json = false;
  std::string output;    // also write the JSON report to this file ("": no file)
  bool preload = false;  // put every key once before measuring
  uint64_t seed = 1;
  // watch mode: `watchers` single-key watchers over `watch_streams` connections receive
  // the puts of the load (values carry their send time: delivery latency).
  bool watch = false;
  int watchers = 1000;
  int watch_streams = 8;
  // gRPC mode: etcd's v3 API at `grpc` (revkvd's --listen-grpc or an etcd), instead of the
  // MessagePack door at `endpoint`. `clients` closed-loop clients, one request in flight
  // each, spread over `conns` channels (one HTTP/2 connection each), as etcd's benchmark tool.
  std::string grpc;
  int clients = 1;
  int conns = 1;
  // gRPC mode: threads that issue the calls and take their answers, each with its own
  // completion queue and its share of the clients (grpc_load.hpp).
  int grpc_threads = 1;
  // gRPC mode over TLS (revkvd --cert-file, docs/SECURITY.md): the CA that verifies the
  // node and a client certificate for --client-cert-auth. Any of them means TLS.
  std::string cacert, cert, key;
  // gRPC mode with auth (etcdctl's --user NAME:PASSWORD): each channel authenticates once
  // and every call carries the token (grpc_auth.hpp). "": anonymous.
  std::string user;
  // > 0 (MessagePack mode): report the requests slower than this many ms and the 50 ms
  // windows in which half the connections or more had one: stalls of the whole pipeline
  // (stalls.hpp). 0: off.
  int stall_ms = 0;

  bool use_grpc() const { return !grpc.empty(); }
  // The clients whose failure means nothing was measured.
  int load_clients() const { return use_grpc() ? clients : connections; }
};

// "put=50,get=40,range=5,txn=5" (also grant=N, keepalive=N); missing ops weigh 0; at least
// one weight > 0.
std::optional<std::array<int, kOpCount>> parse_mix(const std::string& text);

struct ParseExit {
  int code = 0;
  std::string out;
  std::string err;
};

std::variant<Options, ParseExit> parse_options(const std::vector<std::string>& args);

}  // namespace revkv::bench
