// Watch under load, whole-process: many watchers on overlapping ranges while several
// clients write, checked against a model built from the writers' own acknowledgements; and
// a watcher whose client stops reading, which must neither block the writers nor the other
// watchers, and must afterwards receive every event it missed, once, in order. The
// watchers' streams are those of either door (tests/node/watch_clients.hpp): each of these
// cases runs over MessagePack and over etcd's gRPC Watch service.

#include "apps/revkv-bench/watch_bench.hpp"
#include "client/client.hpp"
#include "protocol/codec.hpp"
#include "protocol/method.hpp"
#include "storage/atomic_max.hpp"
#include "tests/node/node_process.hpp"
#include "tests/node/requests.hpp"
#include "tests/node/watch_clients.hpp"
#include "tests/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <random>
#include <stdexcept>
#include <thread>

using namespace revkv;
using namespace std::chrono_literals;

namespace {

// One change the model knows of: what a writer was acknowledged for.
struct Change {
  int64_t revision = 0;
  int64_t sub = 0;
  bool put = true;
  std::string key;
  std::string value;
};

// The events a watcher must see, computed from the changes alone: versions and create
// revisions are derived by replaying them in revision order.
struct Model {
  std::vector<storage::Event> events;  // in (revision, sub) order

  explicit Model(std::vector<Change> changes) {
    std::sort(changes.begin(), changes.end(), [](const Change& a, const Change& b) {
      return std::tie(a.revision, a.sub) < std::tie(b.revision, b.sub);
    });
    std::map<std::string, storage::KeyValue> live;
    for (const auto& c : changes) {
      storage::Event ev;
      if (c.put) {
        auto& kv = live[c.key];
        if (kv.version == 0) kv.create_revision = c.revision;
        kv.key = c.key;
        kv.value = c.value;
        kv.mod_revision = c.revision;
        ++kv.version;
        ev.kv = kv;
      } else {
        live.erase(c.key);
        ev.type = storage::Event::Type::del;
        ev.kv.key = c.key;
        ev.kv.mod_revision = c.revision;
      }
      events.push_back(std::move(ev));
    }
  }
};

struct WatcherPlan {
  protocol::WatchCreateRequest request;
  int64_t created_at = 0;  // the created response's header revision
  std::vector<storage::Event> received;
};

std::string key_of(int k) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "k%03d", k);
  return buf;
}

// Watchers of every shape over keys k000..k199: single keys, prefixes, ranges, from-key,
// the whole keyspace; some with filters; some replaying from an old revision.
protocol::WatchCreateRequest random_watch(std::mt19937_64& rng, int64_t current) {
  protocol::WatchCreateRequest r;
  int a = static_cast<int>(rng() % 200);
  int b = std::min(199, a + static_cast<int>(rng() % 60));
  switch (rng() % 5) {
    case 0:
      r.key = key_of(a);
      break;
    case 1:
      r.key = key_of(a).substr(0, 3);  // a prefix: 10 keys
      r.range_end = storage::prefix_end(r.key);
      break;
    case 2:
      r.key = key_of(a);
      r.range_end = key_of(b + 1);
      break;
    case 3:
      r.key = key_of(a);
      r.range_end = std::string(1, '\0');
      break;
    default:
      r.key = std::string(1, '\0');
      r.range_end = std::string(1, '\0');
  }
  if (rng() % 6 == 0) r.filters.push_back(protocol::WatchFilter::noput);
  if (rng() % 6 == 1) r.filters.push_back(protocol::WatchFilter::nodelete);
  if (rng() % 3 == 0 && current > 1) r.start_revision = 1 + static_cast<int64_t>(rng() % current);
  return r;
}

std::vector<storage::Event> expected_for(const WatcherPlan& w, const Model& model) {
  auto range = storage::KeyRange::from_request(w.request.key, w.request.range_end);
  int64_t from = w.request.start_revision > 0 ? w.request.start_revision : w.created_at + 1;
  bool noput = false, nodelete = false;
  for (auto f : w.request.filters) {
    noput |= f == protocol::WatchFilter::noput;
    nodelete |= f == protocol::WatchFilter::nodelete;
  }
  std::vector<storage::Event> out;
  for (const auto& ev : model.events) {
    if (ev.kv.mod_revision < from || !range.contains(ev.kv.key)) continue;
    if (ev.type == storage::Event::Type::put ? noput : nodelete) continue;
    out.push_back(ev);
  }
  return out;
}

// The endpoint of the door a watch stream type talks to.
template <class Stream>
std::string endpoint_for(const testing::NodeProcess& node) {
  if constexpr (std::is_same_v<Stream, testing::GrpcWatchStream>) {
    return node.grpc_endpoint();
  } else {
    return node.endpoint();
  }
}

client::Client connect(const std::string& endpoint) {
  client::ClientOptions options;
  options.request_timeout = 60s;  // a hung node fails the test, never hangs it
  auto c = client::Client::connect(endpoint, options);
  if (!c.ok()) throw std::runtime_error("connect: " + c.error().message);
  return std::move(c).value();
}

// Catch2's assertions are not thread-safe: worker threads record what went wrong here, the
// test thread checks it after joining them.
class Problems {
 public:
  void add(std::string what) {
    std::lock_guard lock(mu_);
    if (list_.size() < 20) list_.push_back(std::move(what));
  }
  // Runs `f`, turning an exception into a problem (a worker stops at its first one).
  template <class F>
  void guard(F&& f) {
    try {
      f();
    } catch (const std::exception& e) {
      add(e.what());
    }
  }
  std::vector<std::string> list() {
    std::lock_guard lock(mu_);
    return list_;
  }

 private:
  std::mutex mu_;
  std::vector<std::string> list_;
};

// Throws (into Problems::guard) unless `ok`.
void expect(bool ok, const std::string& what) {
  if (!ok) throw std::runtime_error(what);
}

}  // namespace

TEMPLATE_TEST_CASE(
    "watch: 1,000 watchers under concurrent writes each get exactly the model's events",
    "[node][watch]", testing::MsgpackWatchStream, testing::GrpcWatchStream) {
  testing::TempDir dir;
  testing::NodeProcess node(dir.sub("data"), {"--shards", "4", "--sync", "never"});
  constexpr int kStreams = 10;
  constexpr int kWatchersPerStream = 100;
  constexpr int kWriters = 4;
  constexpr int kOpsPerWriter = 600;

  std::mutex mu;
  std::vector<Change> changes;
  std::atomic<int64_t> last_revision{1};
  std::atomic<int> writers_done{0};

  Problems problems;
  auto writer = [&](int id) {
    auto c = connect(node.endpoint());
    std::mt19937_64 rng(static_cast<uint64_t>(id) * 104729);
    for (int i = 0; i < kOpsPerWriter; ++i) {
      std::string key = key_of(static_cast<int>(rng() % 200));
      std::vector<Change> mine;
      int kind = static_cast<int>(rng() % 10);
      if (kind < 6) {
        std::string value = "w" + std::to_string(id) + "-" + std::to_string(i);
        auto r = c.put(storage::PutRequest{key, value});
        expect(r.ok(), "put failed");
        mine.push_back(Change{r.value().response.revision, 0, true, key, value});
      } else if (kind < 8) {
        storage::DeleteRangeRequest d;
        d.key = key;
        auto r = c.delete_range(d);
        expect(r.ok(), "delete failed");
        if (r.value().response.deleted == 1) {
          mine.push_back(Change{r.value().response.revision, 0, false, key, ""});
        }
      } else {
        // Two keys, most often of different shards: one revision, two events in op order.
        std::string other = key_of(static_cast<int>(rng() % 200));
        if (other == key) continue;
        storage::TxnRequest t;
        t.success.push_back(testing::put_op(key, "t1"));
        t.success.push_back(testing::put_op(other, "t2"));
        auto r = c.txn(t);
        expect(r.ok(), "txn failed");
        int64_t rev = r.value().response.revision;
        mine.push_back(Change{rev, 0, true, key, "t1"});
        mine.push_back(Change{rev, 1, true, other, "t2"});
      }
      std::lock_guard lock(mu);
      for (auto& m : mine) {
        revkv::storage::raise_to(last_revision, m.revision);
        changes.push_back(std::move(m));
      }
    }
  };

  // Each stream: creates its watchers while the writers run, then reads until a progress
  // answer at or past the final revision proves that nothing more can come.
  std::vector<std::vector<WatcherPlan>> plans(kStreams);
  auto stream = [&](int s) {
    TestType c(endpoint_for<TestType>(node));
    std::map<int64_t, size_t> by_id;
    auto& mine = plans[s];
    // A create's first events can be decoded in the same read as its created response,
    // before watch() returns the id: sorted out once the stream is done.
    std::vector<protocol::WatchResponse> inbox;
    c.set_handler([&](protocol::WatchResponse w) { inbox.push_back(std::move(w)); });
    std::mt19937_64 rng(static_cast<uint64_t>(s) * 15485863);
    for (int i = 0; i < kWatchersPerStream; ++i) {
      WatcherPlan plan;
      plan.request = random_watch(rng, last_revision.load());
      auto created = c.watch(protocol::WatchRequest{plan.request});
      expect(created.ok() && created.value().created && !created.value().canceled,
             "watch create failed");
      plan.created_at = created.value().header.revision;
      by_id[created.value().watch_id] = mine.size();
      mine.push_back(std::move(plan));
      if (i % 10 == 0) std::this_thread::sleep_for(5ms);  // spread creations over the load
    }
    while (writers_done.load() < kWriters) {
      expect(c.pump_for(50ms).ok(), "watch stream broke");
    }
    int64_t final_revision = last_revision.load();
    for (;;) {
      auto p = c.watch(protocol::WatchRequest{protocol::WatchProgressRequest{}});
      expect(p.ok(), "progress request failed");
      if (p.value().watch_id == -1 && p.value().header.revision >= final_revision) break;
      expect(c.pump_for(20ms).ok(), "watch stream broke");
    }
    for (auto& w : inbox) {
      expect(!w.canceled, "a watcher was cancelled");
      auto it = by_id.find(w.watch_id);
      expect(it != by_id.end(), "a notification for an unknown watch id");
      auto& got = mine[it->second].received;
      for (auto& ev : w.events)
        got.push_back(std::move(ev));
    }
  };

  std::vector<std::thread> threads;
  for (int s = 0; s < kStreams; ++s)
    threads.emplace_back([&, s] { problems.guard([&] { stream(s); }); });
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      problems.guard([&] { writer(w); });
      ++writers_done;  // also after a failure: the streams must not wait forever
    });
  }
  for (auto& t : threads)
    t.join();
  REQUIRE(problems.list() == std::vector<std::string>{});

  Model model(changes);
  size_t watchers = 0, events = 0;
  for (const auto& stream_plans : plans) {
    for (const auto& w : stream_plans) {
      auto expected = expected_for(w, model);
      INFO("watch " << w.request.key << " start " << w.request.start_revision << " created at "
                    << w.created_at);
      REQUIRE(w.received.size() == expected.size());
      for (size_t i = 0; i < expected.size(); ++i) {
        REQUIRE(w.received[i].type == expected[i].type);
        REQUIRE(w.received[i].kv == expected[i].kv);
      }
      ++watchers;
      events += expected.size();
    }
  }
  CHECK(watchers == kStreams * kWatchersPerStream);
  CHECK(events > 100000);  // the check has teeth: most watchers saw many events
}

TEMPLATE_TEST_CASE("watch: a client that stops reading blocks neither writes nor other watchers",
                   "[node][watch]", testing::MsgpackWatchStream, testing::GrpcWatchStream) {
  testing::TempDir dir;
  testing::NodeProcess node(dir.sub("data"), {"--shards", "2", "--sync", "never"});
  constexpr int kPuts = 4000;
  const std::string value(4096, 'v');  // 16 MiB of events: far more than socket buffers

  protocol::WatchCreateRequest all;
  all.key = "p/";
  all.range_end = storage::prefix_end("p/");
  TestType slow(endpoint_for<TestType>(node));
  TestType fast(endpoint_for<TestType>(node));
  for (auto* c : {&slow, &fast}) {
    auto created = c->watch(protocol::WatchRequest{all});
    REQUIRE(created.ok());
    REQUIRE(created.value().header.revision == 1);
  }
  std::vector<int64_t> slow_revs, fast_revs;
  Problems problems;
  auto collect = [](std::vector<int64_t>& into) {
    return [&into](protocol::WatchResponse w) {
      for (const auto& ev : w.events)
        into.push_back(ev.kv.mod_revision);
    };
  };
  slow.set_handler(collect(slow_revs));
  fast.set_handler(collect(fast_revs));
  slow.pause();

  // The writer and the fast watcher run while `slow` reads nothing at all.
  std::atomic<bool> written{false};
  std::thread reader([&] {
    problems.guard([&] {
      while (!written.load() || fast_revs.size() < static_cast<size_t>(kPuts)) {
        expect(fast.pump_for(100ms).ok(), "the fast watcher's stream broke");
      }
    });
  });
  auto writer = connect(node.endpoint());
  for (int i = 0; i < kPuts; ++i) {
    auto r = writer.put(storage::PutRequest{"p/" + std::to_string(i % 50), value});
    if (!r.ok() || r.value().response.revision != i + 2) {
      problems.add("put " + std::to_string(i) + " failed or got an unexpected revision");
      break;
    }
  }
  written = true;
  reader.join();
  REQUIRE(problems.list() == std::vector<std::string>{});
  REQUIRE(fast_revs.size() == static_cast<size_t>(kPuts));

  // Now the slow client reads: every event once, in revision order, none missing.
  slow.resume();
  while (slow_revs.size() < static_cast<size_t>(kPuts)) {
    auto got = slow.pump_for(10s);
    REQUIRE(got.ok());
    REQUIRE(got.value());  // something keeps arriving until it has everything
  }
  for (int i = 0; i < kPuts; ++i) {
    REQUIRE(slow_revs[i] == i + 2);
    REQUIRE(fast_revs[i] == i + 2);
  }
  auto extra = slow.pump_for(300ms);
  REQUIRE(extra.ok());
  CHECK(slow_revs.size() == static_cast<size_t>(kPuts));
}

// docs/WATCH.md "Bounded catch-up": a replay is split at revision boundaries into responses
// of about the limit (never flagged `fragment`); one revision bigger than the limit comes
// whole, or, with `fragment`, split into fragments of one response, all flagged but the last.
TEMPLATE_TEST_CASE(
    "watch: a large replay comes split at revisions, one large revision "
    "fragmented only when asked",
    "[node][watch]", testing::MsgpackWatchStream, testing::GrpcWatchStream) {
  testing::TempDir dir;
  // The response limit is max_request_bytes + 512 KiB: 1 KiB + 512 KiB here.
  testing::NodeProcess node(dir.sub("data"), {"--max-request-bytes", "1024"});
  auto c = connect(node.endpoint());
  const std::string value(900, 'f');
  for (int i = 0; i < 800; ++i)  // ~750 KiB of history over 800 revisions
    REQUIRE(c.put(storage::PutRequest{"f" + std::to_string(i), value}).ok());
  // One revision of 800 deletes: with prev_kv, ~750 KiB of events in one revision.
  storage::DeleteRangeRequest all;
  all.key = "f";
  all.range_end = storage::prefix_end("f");
  auto deleted = c.delete_range(all);
  REQUIRE(deleted.ok());
  REQUIRE(deleted.value().response.deleted == 800);
  const int64_t delete_revision = deleted.value().response.revision;

  // Watches `f` from `start`; returns the responses once `want` events have come.
  auto replay = [&](int64_t start, bool prev_kv, bool fragment, size_t want) {
    TestType w(endpoint_for<TestType>(node));
    std::vector<protocol::WatchResponse> got;
    w.set_handler([&](protocol::WatchResponse r) {
      if (!r.events.empty()) got.push_back(std::move(r));
    });
    protocol::WatchCreateRequest create;
    create.key = "f";
    create.range_end = storage::prefix_end("f");
    create.start_revision = start;
    create.prev_kv = prev_kv;
    create.fragment = fragment;
    REQUIRE(w.watch(protocol::WatchRequest{create}).ok());
    size_t events = 0;
    while (events < want) {
      auto more = w.pump_for(10s);
      REQUIRE(more.ok());
      REQUIRE(more.value());
      events = 0;
      for (const auto& r : got)
        events += r.events.size();
    }
    REQUIRE(events == want);
    return got;
  };

  // The puts' replay: several responses, each of whole revisions, none a fragment.
  auto puts = replay(2, false, false, 800 + 800);
  CHECK(puts.size() >= 2);
  for (size_t i = 0; i < puts.size(); ++i) {
    CHECK_FALSE(puts[i].fragment);
    if (i > 0)
      CHECK(puts[i].events.front().kv.mod_revision > puts[i - 1].events.back().kv.mod_revision);
  }
  // The one large revision, with fragment: split, every part but the last flagged.
  auto fragments = replay(delete_revision, true, true, 800);
  REQUIRE(fragments.size() >= 2);
  for (size_t i = 0; i < fragments.size(); ++i)
    CHECK(fragments[i].fragment == (i + 1 < fragments.size()));
  // Without fragment it comes whole, as etcd sends it.
  auto whole = replay(delete_revision, true, false, 800);
  REQUIRE(whole.size() == 1);
  CHECK_FALSE(whole[0].fragment);
}

TEST_CASE("watch: malformed watch requests are bad requests, the stream stays usable",
          "[node][watch][bad-input]") {
  testing::TempDir dir;
  testing::NodeProcess node(dir.sub("data"));
  auto c = connect(node.endpoint());
  const auto method = protocol::method_name(protocol::Method::watch);
  // None of create/cancel/progress; a create that is not a map; a key of the wrong type.
  for (std::string body : {std::string("\x80", 1),
                           std::string("\x81\xae"
                                       "create_request\x05"),
                           std::string("\x81\xae"
                                       "create_request\x81\xa3"
                                       "key\x07")}) {
    auto r = c.call(method, body);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == 3);
  }
  // Absurd but well-formed: a start revision far in the future, a huge watch id.
  protocol::WatchCreateRequest future;
  future.key = "k";
  future.start_revision = int64_t{1} << 62;
  future.watch_id = (int64_t{1} << 62) + 7;
  auto created = c.watch(protocol::WatchRequest{future});
  REQUIRE(created.ok());
  CHECK(created.value().watch_id == future.watch_id);
  CHECK(c.put(storage::PutRequest{"k", "v"}).ok());
  auto again = c.watch(protocol::WatchRequest{future});
  REQUIRE(again.ok());
  CHECK(again.value().canceled);
  CHECK(again.value().cancel_reason == "mvcc: duplicate watch ID provided on the WatchStream");
  auto cancel = c.watch(protocol::WatchRequest{protocol::WatchCancelRequest{future.watch_id}});
  REQUIRE(cancel.ok());
  CHECK(cancel.value().canceled);
}

TEST_CASE("revkv-bench --watch: every put reaches each watcher of its key",
          "[node][watch][bench]") {
  testing::TempDir dir;
  testing::NodeProcess node(dir.sub("data"), {"--sync", "never"});
  auto parsed = bench::parse_options({"revkv-bench", "--endpoint", node.endpoint(), "--watch",
                                      "--watchers", "100", "--watch-streams", "3", "--keys", "10",
                                      "--connections", "2", "--duration", "0.5"});
  REQUIRE(std::holds_alternative<bench::Options>(parsed));
  const auto& options = std::get<bench::Options>(parsed);
  auto report = bench::run_watch(options);
  CHECK(report.failed_streams == 0);
  uint64_t puts = report.writes.ops[static_cast<size_t>(bench::Op::put)].latency.count();
  REQUIRE(puts > 0);
  CHECK(report.events == puts * 10);  // 100 watchers on 10 keys: 10 per key
  CHECK(report.delivery.count() == report.events);
}

TEST_CASE("watch: a pipelined create and cancel of one id answer in that order", "[node][watch]") {
  testing::TempDir dir;
  testing::NodeProcess node(dir.sub("data"));
  auto c = connect(node.endpoint());
  const auto method = protocol::method_name(protocol::Method::watch);
  for (int round = 0; round < 50; ++round) {
    protocol::WatchCreateRequest create;
    create.key = "k";
    create.watch_id = 7;
    uint32_t created_id =
        c.queue(method, protocol::encode_to_string(protocol::WatchRequest{create}));
    uint32_t cancel_id = c.queue(
        method,
        protocol::encode_to_string(protocol::WatchRequest{protocol::WatchCancelRequest{7}}));
    REQUIRE(c.flush().ok());
    auto first = c.next_response();
    auto second = c.next_response();
    REQUIRE(first.ok());
    REQUIRE(second.ok());
    CHECK(first.value().msgid == created_id);
    CHECK(second.value().msgid == cancel_id);
    auto canceled = protocol::decode_body<protocol::WatchResponse>(second.value().result);
    REQUIRE(canceled.ok());
    CHECK(canceled.value().canceled);
    CHECK(canceled.value().watch_id == 7);
  }
}
