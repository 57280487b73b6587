// revkvctl watch against a real node: its own code path (apps/revkvctl) in a thread,
// printing what the node sends until the node goes away.

#include "apps/revkvctl/run.hpp"
#include "client/client.hpp"
#include "tests/node/node_process.hpp"
#include "tests/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <sstream>
#include <thread>

using namespace revkv;

TEST_CASE("revkvctl watch prints a node's events as they come", "[node][watch][revkvctl]") {
  testing::TempDir dir;
  auto node = std::make_unique<testing::NodeProcess>(dir.sub("data"));
  auto c = client::Client::connect(node->endpoint());
  REQUIRE(c.ok());
  REQUIRE(c.value().put(storage::PutRequest{"k/a", "1"}).ok());  // revision 2

  std::istringstream in;
  std::ostringstream out, err;
  int code = 0;
  // --rev 2: the replay makes the output independent of when the watch starts.
  std::thread watcher([&] {
    code = ctl::main_with_args({"revkvctl", "--endpoint", node->endpoint(), "watch", "k/",
                                "--prefix", "--rev", "2", "--prev-kv"},
                               in, out, err);
  });
  REQUIRE(c.value().put(storage::PutRequest{"k/a", "2"}).ok());
  REQUIRE(c.value().put(storage::PutRequest{"other", "x"}).ok());
  storage::DeleteRangeRequest del;
  del.key = "k/a";
  REQUIRE(c.value().delete_range(del).ok());
  // A second watcher from the same revision proves the node has sent everything before it
  // is stopped: the node answers in order, and its own replay ends with the delete.
  auto probe = client::Client::connect(node->endpoint());
  REQUIRE(probe.ok());
  size_t seen = 0;
  probe.value().set_notification_handler([&](const client::Notification& n) {
    auto w = client::decode_watch_notification(n);
    if (w.ok()) seen += w.value().events.size();
  });
  protocol::WatchCreateRequest create;
  create.key = "k/";
  create.range_end = storage::prefix_end("k/");
  create.start_revision = 2;
  REQUIRE(probe.value().watch(protocol::WatchRequest{create}).ok());
  while (seen < 3)
    REQUIRE(probe.value().pump_for(std::chrono::seconds(10)).value());
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // revkvctl prints its share
  CHECK(node->stop() == 0);
  watcher.join();

  CHECK(code != 0);  // the stream ended with the connection, as etcdctl's does
  CHECK(out.str() == "PUT\nk/a\n1\nPUT\nk/a\n1\nk/a\n2\nDELETE\nk/a\n2\nk/a\n\n");
}
