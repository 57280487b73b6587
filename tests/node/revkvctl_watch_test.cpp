// revkvctl watch against a real node: its own code path (apps/revkvctl) in a thread,
// printing what the node sends, across a restart of the node.

#include "apps/revkvctl/run.hpp"
#include "client/client.hpp"
#include "tests/node/node_process.hpp"
#include "tests/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <mutex>
#include <sstream>
#include <stop_token>
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

// Waits (with a deadline) until `buffer` holds `size` bytes.
bool wait_printed(LockedBuffer& buffer, std::size_t size) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (buffer.text().size() < size && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  return buffer.text().size() >= size;
}

}  // namespace

TEST_CASE("revkvctl watch prints a node's events and resumes after a restart",
          "[node][watch][revkvctl]") {
  testing::TempDir dir;
  auto node = std::make_unique<testing::NodeProcess>(dir.sub("data"));
  const std::string endpoint = node->endpoint();
  auto c = client::Client::connect(endpoint);
  REQUIRE(c.ok());
  REQUIRE(c.value().put(storage::PutRequest{"k/a", "1"}).ok());  // revision 2

  std::istringstream in;
  LockedBuffer printed;
  std::ostream out(&printed);
  std::ostringstream err;
  int code = 0;
  std::stop_source stop;
  // --rev 2: the replay makes the output independent of when the watch starts.
  std::thread watcher([&] {
    code = ctl::main_with_args(
        {"revkvctl", "--endpoint", endpoint, "watch", "k/", "--prefix", "--rev", "2", "--prev-kv"},
        in, out, err, stop.get_token());
  });
  REQUIRE(c.value().put(storage::PutRequest{"k/a", "2"}).ok());
  REQUIRE(c.value().put(storage::PutRequest{"other", "x"}).ok());
  storage::DeleteRangeRequest del;
  del.key = "k/a";
  REQUIRE(c.value().delete_range(del).ok());
  const std::string before = "PUT\nk/a\n1\nPUT\nk/a\n1\nk/a\n2\nDELETE\nk/a\n2\nk/a\n\n";
  CHECK(wait_printed(printed, before.size()));

  // The node goes away and comes back on the same port with the same data: the watch
  // reconnects and resumes after the delete — a resume from --rev 2 would print the three
  // events again, a resume from the node's new revision could lose the next one.
  CHECK(node->stop() == 0);
  node = std::make_unique<testing::NodeProcess>(
      dir.sub("data"), std::vector<std::string>{"--listen-client", endpoint});
  auto c2 = client::Client::connect(endpoint);
  REQUIRE(c2.ok());
  REQUIRE(c2.value().put(storage::PutRequest{"k/b", "3"}).ok());
  const std::string after = before + "PUT\nk/b\n3\n";
  CHECK(wait_printed(printed, after.size()));
  stop.request_stop();
  watcher.join();

  CHECK(code == ctl::kExitInterrupted);
  CHECK(printed.text() == after);
  CHECK(err.str().empty());
}
