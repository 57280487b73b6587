// revkvctl watch against a real node: its own code path (apps/revkvctl) in a thread,
// printing what the node sends until the node goes away.

#include "apps/revkvctl/run.hpp"
#include "client/client.hpp"
#include "tests/node/node_process.hpp"
#include "tests/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <mutex>
#include <sstream>
#include <thread>

using namespace revkv;

namespace {

// revkvctl's stdout, readable by the test thread while revkvctl writes it.
class LockedBuffer : public std::stringbuf {
 public:
  std::string text() {
    std::lock_guard lock(mu_);
    return str();
  }

 protected:
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    std::lock_guard lock(mu_);
    return std::stringbuf::xsputn(s, n);
  }
  int_type overflow(int_type c) override {
    std::lock_guard lock(mu_);
    return std::stringbuf::overflow(c);
  }

 private:
  std::recursive_mutex mu_;  // xsputn may call overflow
};

}  // namespace

TEST_CASE("revkvctl watch prints a node's events as they come", "[node][watch][revkvctl]") {
  testing::TempDir dir;
  auto node = std::make_unique<testing::NodeProcess>(dir.sub("data"));
  auto c = client::Client::connect(node->endpoint());
  REQUIRE(c.ok());
  REQUIRE(c.value().put(storage::PutRequest{"k/a", "1"}).ok());  // revision 2

  std::istringstream in;
  LockedBuffer printed;
  std::ostream out(&printed);
  std::ostringstream err;
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
  // Wait (with a deadline) until revkvctl has printed the delete: the last event.
  const std::string expected = "PUT\nk/a\n1\nPUT\nk/a\n1\nk/a\n2\nDELETE\nk/a\n2\nk/a\n\n";
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (printed.text().size() < expected.size() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  CHECK(node->stop() == 0);
  watcher.join();

  CHECK(code != 0);  // the stream ended with the connection, as etcdctl's does
  CHECK(printed.text() == expected);
}
