#pragma once

// The node's actors in one process, without TCP: a Catch2 fixture that starts them with
// actors::Node (listen = false) on a temporary directory and drives them with protocol
// messages — as structs (call) or as msgpack bytes (call_bytes) — through the node's one
// request path (actors/request_path.hpp), hosted by a door actor of the harness
// (tests/actors/harness_door.hpp) exactly as the MessagePack door hosts it for a connection:
// the same validation, routing, Range fan-out and merge, write ordering and watch protocol.
// Every reply is awaited with a deadline (request(...).receive(...)): a missing reply
// throws CallTimeout, which fails the test with a message instead of hanging it.
//
//   TEST_CASE_METHOD(ActorHarness, "...", "[actors]") {
//     auto put = call<storage::PutResponse>(storage::PutRequest{...});
//     auto bytes = call_bytes("KV.Range", protocol::encode_to_string(range_request));
//   }

#include "actors/messages.hpp"
#include "actors/node.hpp"
#include "actors/request_path.hpp"
#include "actors/routing.hpp"
#include "protocol/error.hpp"
#include "protocol/messages.hpp"
#include "storage/error.hpp"
#include "storage/types.hpp"
#include "tests/actors/harness_watch_stream.hpp"
#include "tests/temp_dir.hpp"

#include <caf/all.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace revkv::testing {

// A reply that did not come (CAF error: timeout, receiver down, unexpected reply type).
class CallFailed : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};
// ... because the deadline passed.
class CallTimeout : public CallFailed {
 public:
  using CallFailed::CallFailed;
};

// The reply type of each request the node's actors serve.
template <class Request>
struct ResponseOf;
template <>
struct ResponseOf<storage::RangeRequest> {
  using type = storage::RangeResponse;
};
template <>
struct ResponseOf<storage::PutRequest> {
  using type = storage::PutResponse;
};
template <>
struct ResponseOf<storage::DeleteRangeRequest> {
  using type = storage::DeleteRangeResponse;
};
template <>
struct ResponseOf<storage::TxnRequest> {
  using type = storage::TxnResponse;
};
template <>
struct ResponseOf<protocol::CompactionRequest> {
  using type = storage::CompactResponse;
};
template <>
struct ResponseOf<protocol::HashKVRequest> {
  using type = protocol::HashKVResponse;
};
template <>
struct ResponseOf<protocol::StatusRequest> {
  using type = protocol::StatusResponse;
};
template <>
struct ResponseOf<protocol::DefragmentRequest> {
  using type = protocol::DefragmentResponse;
};
template <>
struct ResponseOf<protocol::AlarmRequest> {
  using type = protocol::AlarmResponse;
};
template <>
struct ResponseOf<protocol::LeaseGrantRequest> {
  using type = protocol::LeaseGrantResponse;
};
template <>
struct ResponseOf<protocol::LeaseRevokeRequest> {
  using type = protocol::LeaseRevokeResponse;
};
template <>
struct ResponseOf<protocol::LeaseKeepAliveRequest> {
  using type = protocol::LeaseKeepAliveResponse;
};
template <>
struct ResponseOf<protocol::LeaseTimeToLiveRequest> {
  using type = protocol::LeaseTimeToLiveResponse;
};
template <>
struct ResponseOf<protocol::LeaseLeasesRequest> {
  using type = protocol::LeaseLeasesResponse;
};
template <class Request>
using ResponseOfT = typename ResponseOf<Request>::type;

struct HarnessOptions {
  size_t shards = 3;
  int64_t max_txn_ops = 128;
  std::chrono::milliseconds timeout{10000};  // per reply
  std::chrono::milliseconds lease_check_interval{500};
  int64_t lease_revoke_rate = 1000;
  std::chrono::milliseconds watch_progress_interval{10 * 60 * 1000};
  // The lessor's clock; null: the real one. With a util::ManualClock no expiry check runs
  // by itself: the test advances the clock and asks the lessor for one (expire_atom).
  std::shared_ptr<util::Clock> clock;
  // The node's --sync (the harness runs without fsync unless a test asks), its quota, and
  // the backend's test hooks (storage::BackendHooks: e.g. hold every fsync).
  actors::SyncMode sync = actors::SyncMode::never;
  int64_t quota_backend_bytes = 2ll << 30;
  storage::BackendHooks backend_hooks;
};

class ActorHarness {
 public:
  ActorHarness() : ActorHarness(HarnessOptions{}) {}
  explicit ActorHarness(HarnessOptions options);
  ~ActorHarness();
  ActorHarness(const ActorHarness&) = delete;
  ActorHarness& operator=(const ActorHarness&) = delete;

  caf::actor_system& system() { return sys_; }
  actors::Node& node() { return *node_; }
  // What call() reaches: the node's actors; a test may put its own in their place (the
  // next call() opens a new door with them).
  actors::Routes& routes() {
    close_door();
    return routes_;
  }
  void set_timeout(std::chrono::milliseconds timeout) { options_.timeout = timeout; }

  // One request through the node's request path (actors/request_path.hpp), as any door
  // sends it: the engine's answer (a refusal is an error Result). Throws CallTimeout /
  // CallFailed when no proper answer comes (or the node answers Unavailable / internal).
  template <class Resp, class Req>
  storage::Result<Resp> call(Req request) {
    static_assert(std::is_same_v<Resp, ResponseOfT<Req>>, "the reply type of this request");
    auto answer = call_path(actors::Request{std::move(request)});
    if (auto* e = std::get_if<storage::Error>(&answer)) return *e;
    if (auto* response = std::get_if<actors::Response>(&answer)) {
      return std::get<Resp>(std::move(*response));
    }
    throw CallFailed("the node answered " + actors::wire_error(answer).message);
  }

  // One request through the request path, its answer as it is.
  actors::Answer call_path(actors::Request request);

  // A request as a method name and a msgpack body (one map; empty = no body), decoded with
  // protocol::decode_body and sent like call(). The reply as the MessagePack door encodes
  // it: the result body's bytes, or the wire error.
  protocol::Decoded<std::string> call_bytes(std::string_view method, std::string_view body);

  // One request to `whom`, awaited for at most `timeout`: the reply, or the CAF error
  // (caf::sec::request_timeout when nothing came).
  template <class Resp, class... Ts>
  std::pair<std::optional<storage::Result<Resp>>, caf::error> ask(const caf::actor& whom,
                                                                  std::chrono::milliseconds timeout,
                                                                  Ts&&... xs) {
    std::pair<std::optional<storage::Result<Resp>>, caf::error> out;
    self_->request(whom, timeout, std::forward<Ts>(xs)...)
        .receive([&](storage::Result<Resp>& r) { out.first.emplace(std::move(r)); },
                 [&](caf::error& e) { out.second = std::move(e); });
    return out;
  }

  // An actor that accepts every message and never answers one (stopped with the fixture).
  caf::actor spawn_silent_actor();

  // -- Watch: a watch stream talking to the node as a connection does. The harness has
  // one (watch, next_watch_response); open_watch_stream() makes more.
  std::optional<protocol::WatchResponse> watch(const protocol::WatchRequest& request);
  std::optional<protocol::WatchResponse> next_watch_response(std::chrono::milliseconds timeout);
  std::unique_ptr<HarnessWatchStream> open_watch_stream();

  // Stops the node cleanly and starts it again on the same data directory (watch streams
  // opened before are dead).
  void restart();

 private:
  [[noreturn]] void fail(const caf::error& error);
  const caf::actor& door();
  void close_door();
  void start_node();

  HarnessOptions options_;
  caf::actor_system_config cfg_;
  caf::actor_system sys_;
  TempDir dir_;
  std::unique_ptr<actors::Node> node_;  // after dir_: closed before the dir is removed
  actors::Routes routes_;
  std::vector<caf::actor> silent_;
  caf::scoped_actor self_;                      // after sys_, hidden: gone before the system
  caf::actor door_;                             // call()'s door, opened on first use
  std::unique_ptr<HarnessWatchStream> stream_;  // the harness's own, opened on first use
};

}  // namespace revkv::testing
