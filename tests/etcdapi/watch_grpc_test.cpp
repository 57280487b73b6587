// etcd's Watch service through revkvd's gRPC door: the same random sequence of creates,
// cancels, progress requests, writes and compactions through a MessagePack watch stream of
// one node and a gRPC watch stream of another must give the same answers and the same
// events for every watcher; a stream whose client closed its side keeps its watchers (as
// etcd's does); 10,000 watchers over 100 gRPC streams each get every event of their key, in
// order; a stopping node ends its streams with etcd's "server stopped".

#include "client/client.hpp"
#include "tests/node/node_process.hpp"
#include "tests/node/requests.hpp"
#include "tests/node/watch_clients.hpp"
#include "tests/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace revkv {
namespace {

using namespace std::chrono_literals;

client::Client connect(const std::string& endpoint) {
  client::ClientOptions o;
  o.request_timeout = 30s;
  auto c = client::Client::connect(endpoint, o);
  REQUIRE(c.ok());
  return std::move(c).value();
}

// A watcher: its id and which watcher of that id it is (an id is free again once its
// watcher is cancelled, and the sequence's explicit ids 1-6 reuse them).
using WatcherKey = std::pair<int64_t, int>;

std::string name_of(const WatcherKey& w) {
  return "watcher " + std::to_string(w.first) + " (#" + std::to_string(w.second) + ")";
}

// What one watch stream showed: each request's answer (its header cut to the revision: the
// two nodes have their own ids) and every watcher's events and cancellation, flattened
// (how events are batched into responses depends on timing, not on semantics).
struct Seen {
  std::vector<protocol::WatchResponse> answers;
  std::map<int64_t, int> generation;  // of each id: how many watchers had it
  std::map<WatcherKey, std::vector<storage::Event>> events;
  std::map<WatcherKey, std::pair<int64_t, std::string>> canceled;  // compact_revision, reason
  std::set<WatcherKey> cancelled_by_client;  // the same on both sides: the sequence's cancels
  std::set<int64_t> live;                    // ids with a watcher that has not ended

  // Which watcher of `id` a response is for. The streams answer in order, but a client may
  // hand on a new watcher's first events before its create's answer returns (the
  // MessagePack client drains what it read in one go); a watcher that ended gets nothing
  // more, so while `id` has no live watcher, what arrives for it is the next one's. Counting
  // only creates keeps the numbering the same on both sides, however each one's watchers ended.
  WatcherKey current(int64_t id) const {
    auto g = generation.find(id);
    const int created_so_far = g == generation.end() ? 0 : g->second;
    return {id, created_so_far + (live.contains(id) ? 0 : 1)};
  }
  // A create was answered with `id`.
  void created(int64_t id) {
    ++generation[id];
    live.insert(id);
  }
  // The client's cancel of `id` was answered.
  void cancelled(int64_t id) {
    cancelled_by_client.insert({id, generation[id]});
    live.erase(id);
  }

  void take(protocol::WatchResponse r) {
    const WatcherKey w = current(r.watch_id);
    if (r.canceled) {
      canceled[w] = {r.compact_revision, r.cancel_reason};
      live.erase(r.watch_id);
      return;
    }
    auto& into = events[w];
    for (auto& e : r.events)
      into.push_back(std::move(e));
  }
  // The same answers from both nodes: the same cancellations, and every watcher's events
  // equal — except for a watcher that was cancelled while events could still be on their way
  // to it, where one side's events must be a prefix of the other's: one cancelled by a
  // compaction while it was still catching up, or one the client cancelled (a catching-up
  // watcher may not have been sent all of its history yet; a synced one may not yet have
  // been sent the events of the last acknowledged writes — the hub is told of them after the
  // write's answer). Where a compaction falls in a watcher's catch-up is timing, on each
  // node: a watcher may be cancelled by a compaction on one node and have caught up before
  // it on the other, or be cancelled by two different compactions; so a compaction's cancel
  // (compact_revision > 0) may stand on one side only, or name another revision on each, its
  // side's events being the prefix. Any other cancel (a refusal, a reason) must be the same.
  // Returns the first watcher that breaks this, or nothing.
  friend std::optional<std::string> difference(const Seen& a, const Seen& b) {
    std::set<WatcherKey> cancelled;
    for (const auto& [w, why] : a.canceled)
      cancelled.insert(w);
    for (const auto& [w, why] : b.canceled)
      cancelled.insert(w);
    for (const WatcherKey& w : cancelled) {
      const auto x = a.canceled.find(w);
      const auto y = b.canceled.find(w);
      const bool by_compaction_x = x != a.canceled.end() && x->second.first > 0;
      const bool by_compaction_y = y != b.canceled.end() && y->second.first > 0;
      const bool same = x != a.canceled.end() && y != b.canceled.end() && x->second == y->second;
      if (!same && !(by_compaction_x || by_compaction_y))
        return name_of(w) + ": the cancellations differ";
      if (!same && (x != a.canceled.end() && !by_compaction_x))
        return name_of(w) + ": the cancellations differ";
      if (!same && (y != b.canceled.end() && !by_compaction_y))
        return name_of(w) + ": the cancellations differ";
    }
    std::set<WatcherKey> watchers;
    for (const auto& [w, list] : a.events)
      watchers.insert(w);
    for (const auto& [w, list] : b.events)
      watchers.insert(w);
    static const std::vector<storage::Event> none;
    for (const WatcherKey& w : watchers) {
      const auto& x = a.events.contains(w) ? a.events.at(w) : none;
      const auto& y = b.events.contains(w) ? b.events.at(w) : none;
      if (x == y) continue;
      std::string what = name_of(w) + ": " + std::to_string(x.size()) + " events against " +
                         std::to_string(y.size());
      if (!a.canceled.contains(w) && !b.canceled.contains(w) && !a.cancelled_by_client.contains(w))
        return what + ", and it was never cancelled";
      const auto& shorter = x.size() < y.size() ? x : y;
      const auto& longer = x.size() < y.size() ? y : x;
      if (!std::equal(shorter.begin(), shorter.end(), longer.begin()))
        return what + ", and the shorter list is no prefix of the longer";
    }
    return std::nullopt;
  }
};

std::string show(const std::vector<protocol::WatchResponse>& answers) {
  std::string out;
  for (const auto& r : answers)
    out += "{rev " + std::to_string(r.header.revision) + " id " + std::to_string(r.watch_id) +
           (r.created ? " created" : "") + (r.canceled ? " canceled" : "") + " compact " +
           std::to_string(r.compact_revision) + " '" + r.cancel_reason + "' events " +
           std::to_string(r.events.size()) + "} ";
  return out;
}

protocol::WatchResponse answer_part(protocol::WatchResponse r) {
  r.header = protocol::ResponseHeader{0, 0, r.header.revision, 0};
  return r;
}

std::string key_of(uint64_t k) {
  return "k" + std::to_string(k % 10);
}

struct Door {
  explicit Door(const std::string& data_dir, const std::string& grpc_engine = "nghttp2")
      : node(data_dir, {"--shards", "3", "--sync", "never", "--grpc-engine", grpc_engine}),
        writer(connect(node.endpoint())) {}
  testing::NodeProcess node;
  client::Client writer;
  Seen seen;
};

}  // namespace

TEST_CASE("gRPC watch: a random sequence gives the MessagePack door's answers and events",
          "[etcdapi][watch]") {
  const uint64_t seed = GENERATE(1u, 2u, 3u, 4u);
  // Both engines of the gRPC port: Watch streams served by revkv's HTTP/2 door
  // (etcdapi/h2_watch_call.hpp) and by gRPC's server (etcdapi/watch_service.hpp).
  const std::string engine = seed % 2 ? "nghttp2" : "grpc";
  CAPTURE(engine);
  testing::TempDir dir;
  Door mp_door(dir.sub("mp"));
  Door grpc_door(dir.sub("grpc"), engine);
  testing::MsgpackWatchStream mp(mp_door.node.endpoint());
  testing::GrpcWatchStream grpc(grpc_door.node.grpc_endpoint());
  mp.set_handler([&](protocol::WatchResponse r) { mp_door.seen.take(std::move(r)); });
  grpc.set_handler([&](protocol::WatchResponse r) { grpc_door.seen.take(std::move(r)); });

  // Both sides first watch a sentinel key: its event after the sequence says that every
  // synced watcher of the stream has been sent everything before it.
  protocol::WatchCreateRequest sentinel;
  sentinel.key = "sentinel";
  sentinel.watch_id = 1000;
  REQUIRE(mp.watch(protocol::WatchRequest{sentinel}).ok());
  REQUIRE(grpc.watch(protocol::WatchRequest{sentinel}).ok());
  mp_door.seen.created(sentinel.watch_id);
  grpc_door.seen.created(sentinel.watch_id);

  std::mt19937_64 rng(seed);
  int64_t revision = 1;
  int64_t compacted = 0;
  std::vector<int64_t> ids;
  for (int step = 0; step < 250; ++step) {
    uint64_t dice = rng() % 100;
    INFO("seed " << seed << " step " << step << " dice " << dice);
    if (dice < 45) {
      // Writes, the same to both nodes: the same revisions.
      // Every choice made before either write: both nodes get the same request.
      uint64_t k = rng();
      std::string key = key_of(k), other = key_of(k + 1 + rng() % 9);
      uint64_t kind = rng() % 4;
      bool whole_prefix = rng() % 2;
      std::string value = std::to_string(rng() % 1000);
      auto write = [&](client::Client& c) -> int64_t {
        if (kind < 2) return c.put(storage::PutRequest{key, value}).value().response.revision;
        if (kind == 2) {
          storage::DeleteRangeRequest d;
          d.key = key;
          if (whole_prefix) d.range_end = storage::prefix_end("k");
          return c.delete_range(d).value().response.revision;
        }
        storage::TxnRequest t;
        t.success.push_back(testing::put_op(key, value));
        t.success.push_back(testing::put_op(other, value + "'"));
        return c.txn(t).value().response.revision;
      };
      int64_t a = write(mp_door.writer);
      int64_t b = write(grpc_door.writer);
      REQUIRE(a == b);
      revision = a;
    } else if (dice < 75) {
      protocol::WatchCreateRequest create;
      create.key = key_of(rng());
      if (rng() % 3 == 0) create.range_end = storage::prefix_end("k");
      if (rng() % 5 == 0) create.range_end = key_of(rng()) + "\x01";  // maybe an empty range
      if (rng() % 2) create.start_revision = static_cast<int64_t>(rng() % (revision + 3));
      create.prev_kv = rng() % 2;
      create.fragment = rng() % 2;
      if (rng() % 4 == 0) create.filters.push_back(protocol::WatchFilter::noput);
      if (rng() % 4 == 0) create.filters.push_back(protocol::WatchFilter::nodelete);
      if (rng() % 3 == 0) create.watch_id = 1 + static_cast<int64_t>(rng() % 6);  // maybe taken
      auto a = mp.watch(protocol::WatchRequest{create});
      auto b = grpc.watch(protocol::WatchRequest{create});
      REQUIRE(a.ok());
      REQUIRE(b.ok());
      mp_door.seen.answers.push_back(answer_part(a.value()));
      grpc_door.seen.answers.push_back(answer_part(b.value()));
      if (!a.value().canceled) ids.push_back(a.value().watch_id);
      if (a.value().created && !a.value().canceled) mp_door.seen.created(a.value().watch_id);
      if (b.value().created && !b.value().canceled) grpc_door.seen.created(b.value().watch_id);
    } else if (dice < 85 && !ids.empty()) {
      // Only ids that were created: a cancel of an unknown id gets no answer at all.
      size_t at = rng() % ids.size();
      const int64_t id = ids[at];
      protocol::WatchRequest cancel{protocol::WatchCancelRequest{id}};
      ids.erase(ids.begin() + static_cast<std::ptrdiff_t>(at));
      auto a = mp.watch(cancel);
      auto b = grpc.watch(cancel);
      REQUIRE(a.ok());
      REQUIRE(b.ok());
      mp_door.seen.cancelled(id);
      grpc_door.seen.cancelled(id);
      mp_door.seen.answers.push_back(answer_part(a.value()));
      grpc_door.seen.answers.push_back(answer_part(b.value()));
    } else if (dice < 92) {
      protocol::WatchRequest progress{protocol::WatchProgressRequest{}};
      auto a = mp.watch(progress);
      auto b = grpc.watch(progress);
      REQUIRE(a.ok());
      REQUIRE(b.ok());
      mp_door.seen.answers.push_back(answer_part(a.value()));
      grpc_door.seen.answers.push_back(answer_part(b.value()));
    } else if (revision > compacted + 1) {
      int64_t to = compacted + 1 + static_cast<int64_t>(rng() % (revision - compacted));
      REQUIRE(mp_door.writer.compact({to, false}).ok());
      REQUIRE(grpc_door.writer.compact({to, false}).ok());
      compacted = to;
    }
    INFO("MessagePack " << show(mp_door.seen.answers));
    INFO("gRPC " << show(grpc_door.seen.answers));
    REQUIRE(mp_door.seen.answers == grpc_door.seen.answers);
  }

  // Drain both streams up to the sentinel's event, then a little more: then compare.
  REQUIRE(mp_door.writer.put(storage::PutRequest{"sentinel", "end"}).ok());
  REQUIRE(grpc_door.writer.put(storage::PutRequest{"sentinel", "end"}).ok());
  auto drained = [](auto& stream, Door& door) {
    auto deadline = std::chrono::steady_clock::now() + 30s;
    const WatcherKey sentinel_watcher = door.seen.current(1000);
    while (door.seen.events[sentinel_watcher].empty() &&
           std::chrono::steady_clock::now() < deadline)
      REQUIRE(stream.pump_for(100ms).ok());
    REQUIRE(door.seen.events[sentinel_watcher].size() == 1);
  };
  drained(mp, mp_door);
  drained(grpc, grpc_door);
  // Watchers replaying history may still be catching up: wait until both sides agree.
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while (difference(mp_door.seen, grpc_door.seen) && std::chrono::steady_clock::now() < deadline) {
    REQUIRE(mp.pump_for(50ms).ok());
    REQUIRE(grpc.pump_for(50ms).ok());
  }
  CAPTURE(seed);
  const auto differs = difference(mp_door.seen, grpc_door.seen);
  INFO(differs.value_or(""));
  REQUIRE_FALSE(differs);
  size_t events = 0;
  for (const auto& [id, list] : grpc_door.seen.events)
    events += list.size();
  CHECK(events > 20);  // the comparison has teeth
}

TEST_CASE("gRPC watch: a client that closes its sending side keeps its watchers",
          "[etcdapi][watch]") {
  testing::TempDir dir;
  testing::NodeProcess node(dir.sub("data"), {"--sync", "never"});
  auto writer = connect(node.endpoint());
  testing::GrpcWatchStream stream(node.grpc_endpoint());
  std::vector<storage::Event> events;
  stream.set_handler([&](protocol::WatchResponse r) {
    for (auto& e : r.events)
      events.push_back(std::move(e));
  });
  protocol::WatchCreateRequest create;
  create.key = "a";
  auto created = stream.watch(protocol::WatchRequest{create});
  REQUIRE(created.ok());
  REQUIRE(created.value().created);
  stream.close_send();
  for (int i = 0; i < 5; ++i)
    REQUIRE(writer.put(storage::PutRequest{"a", std::to_string(i)}).ok());
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while (events.size() < 5 && std::chrono::steady_clock::now() < deadline)
    REQUIRE(stream.pump_for(100ms).ok());
  REQUIRE(events.size() == 5);
  for (int i = 0; i < 5; ++i)
    CHECK(events[i].kv.value == std::to_string(i));
}

TEST_CASE("gRPC watch: 10,000 watchers over 100 streams each get every event of their key",
          "[etcdapi][watch]") {
  constexpr int kStreams = 100, kPerStream = 100, kKeys = 50, kRounds = 4;
  testing::TempDir dir;
  testing::NodeProcess node(dir.sub("data"), {"--shards", "4", "--sync", "never"});
  auto writer = connect(node.endpoint());
  std::vector<std::unique_ptr<testing::GrpcWatchStream>> streams;
  // received[s][watch id] = the values seen, in order.
  std::vector<std::map<int64_t, std::vector<std::string>>> received(kStreams);
  std::vector<std::map<int64_t, int>> key_of_watch(kStreams);
  for (int s = 0; s < kStreams; ++s) {
    streams.push_back(std::make_unique<testing::GrpcWatchStream>(node.grpc_endpoint()));
    streams.back()->set_handler([&received, s](protocol::WatchResponse r) {
      for (auto& e : r.events)
        received[s][r.watch_id].push_back(e.kv.value);
    });
    for (int w = 0; w < kPerStream; ++w) {
      int key = (s * kPerStream + w) % kKeys;
      protocol::WatchCreateRequest create;
      create.key = "w" + std::to_string(key);
      auto created = streams.back()->watch(protocol::WatchRequest{create});
      REQUIRE(created.ok());
      REQUIRE(created.value().created);
      key_of_watch[s][created.value().watch_id] = key;
    }
  }
  for (int round = 0; round < kRounds; ++round)
    for (int key = 0; key < kKeys; ++key)
      REQUIRE(
          writer.put(storage::PutRequest{"w" + std::to_string(key), std::to_string(round)}).ok());
  auto complete = [&](int s) {
    size_t events = 0;
    for (const auto& [id, values] : received[s])
      events += values.size();
    return events == static_cast<size_t>(kPerStream * kRounds);
  };
  for (int s = 0; s < kStreams; ++s) {
    auto deadline = std::chrono::steady_clock::now() + 60s;
    while (!complete(s) && std::chrono::steady_clock::now() < deadline)
      REQUIRE(streams[s]->pump_for(100ms).ok());
    INFO("stream " << s);
    REQUIRE(received[s].size() == static_cast<size_t>(kPerStream));
    for (const auto& [id, values] : received[s]) {
      REQUIRE(key_of_watch[s].contains(id));
      REQUIRE(values == std::vector<std::string>{"0", "1", "2", "3"});
    }
  }
}

TEST_CASE("gRPC watch: a stopping node ends its watch streams with etcd's server stopped",
          "[etcdapi][watch]") {
  testing::TempDir dir;
  testing::NodeProcess node(dir.sub("data"));
  testing::GrpcWatchStream stream(node.grpc_endpoint());
  protocol::WatchCreateRequest create;
  create.key = "a";
  REQUIRE(stream.watch(protocol::WatchRequest{create}).ok());
  REQUIRE(node.stop() == 0);
  auto ended = stream.pump_for(30s);
  REQUIRE_FALSE(ended.ok());
  CHECK(ended.error().code == 14);
  CHECK(stream.final_status().error_code() == grpc::StatusCode::UNAVAILABLE);
  CHECK(stream.final_status().error_message() == "etcdserver: server stopped");
}

}  // namespace revkv
