// Backend::size() against Backend::close() (issue 12, item 2.2): the metrics scrape calls
// size() from its own threads while Node::stop closes the backend. close() must wait for a
// size() in progress, and a size() that comes later must fail cleanly instead of reading a
// destroyed database. The first case orders the two threads with the backend's test hooks;
// the second is the scrape loop itself, which the ASan build (scripts/test --sanitize)
// checks for use-after-free.

#include "storage/backend.hpp"
#include "tests/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

using namespace revkv::storage;
using revkv::testing::TempDir;

namespace {

constexpr auto kDeadline = std::chrono::seconds(30);

// What the threads of a test did, in order.
class EventLog {
 public:
  void record(std::string event) {
    std::lock_guard lock(mutex_);
    events_.push_back(std::move(event));
    changed_.notify_all();
  }
  // Waits until `event` is recorded; false when the deadline passed first.
  template <class Pred>
  bool wait_until(Pred pred) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, kDeadline, [&] { return pred(events_); });
  }
  std::vector<std::string> events() const {
    std::lock_guard lock(mutex_);
    return events_;
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::string> events_;
};

bool has(const std::vector<std::string>& events, const std::string& event) {
  return std::find(events.begin(), events.end(), event) != events.end();
}

void write_something(Backend& b) {
  WriteBatch batch(b);
  batch.put(Column::kv, "key", std::string(4096, 'v'));
  REQUIRE(b.write(batch, false).ok());
}

}  // namespace

TEST_CASE("backend lifetime: close() waits for a size() in progress", "[backend][lifetime]") {
  TempDir dir;
  EventLog log;
  std::atomic<bool> armed{false};
  std::unique_ptr<Backend> backend;
  std::jthread closer;  // declared after backend: joined before it is destroyed

  BackendOptions options;
  options.hooks.close_waits_for_readers = [&] { log.record("close waits"); };
  options.hooks.while_sizing = [&] {
    if (!armed.exchange(false)) return;
    log.record("size reading");
    // Node::stop's close, on another thread, while this size() holds the database.
    closer = std::jthread([&] {
      auto closed = backend->close();
      log.record(closed.ok() ? "closed" : "close failed");
    });
    // Either close() waits for this reader, or (the defect) it closes under it.
    bool settled = log.wait_until(
        [](const auto& events) { return has(events, "close waits") || has(events, "closed"); });
    REQUIRE(settled);
    REQUIRE_FALSE(has(log.events(), "closed"));
  };
  auto opened = Backend::open(dir.str(), options);
  REQUIRE(opened.ok());
  backend = std::move(*opened);
  write_something(*backend);

  armed = true;
  auto size = backend->size();
  // It read from the open database (the memtable holds the write).
  REQUIRE(size.ok());
  CHECK(size->total_bytes > 0);
  closer.join();
  CHECK(log.events() == std::vector<std::string>{"size reading", "close waits", "closed"});
  // After close, size() is an error, not a read of a destroyed database.
  auto after = backend->size();
  REQUIRE_FALSE(after.ok());
  CHECK(after.error().message() == "revkv: backend is closed");
}

TEST_CASE("backend lifetime: a scrape loop of size() calls racing close()", "[backend][lifetime]") {
  TempDir dir;
  auto opened = Backend::open(dir.str(), BackendOptions{});
  REQUIRE(opened.ok());
  auto backend = std::move(*opened);
  write_something(*backend);

  std::atomic<bool> stop{false};
  std::atomic<int> served{0};
  std::atomic<int> refused{0};
  std::atomic<int> wrong{0};
  {
    std::vector<std::jthread> scrapers;
    for (int i = 0; i < 3; ++i) {
      scrapers.emplace_back([&] {
        while (!stop.load()) {
          auto size = backend->size();
          if (size.ok()) {
            ++served;
          } else if (size.error().message() == "revkv: backend is closed") {
            ++refused;
          } else {
            ++wrong;
          }
        }
      });
    }
    // The scrapers are running before the close.
    auto deadline = std::chrono::steady_clock::now() + kDeadline;
    while (served.load() < 100 && std::chrono::steady_clock::now() < deadline)
      std::this_thread::yield();
    REQUIRE(served.load() >= 100);
    REQUIRE(backend->close().ok());
    // Every scraper goes on calling size() after the close, and is refused.
    while (refused.load() < 100 && std::chrono::steady_clock::now() < deadline)
      std::this_thread::yield();
    stop = true;
  }
  CHECK(refused.load() >= 100);
  CHECK(wrong.load() == 0);
}
