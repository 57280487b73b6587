// The exits without destructors (actors/fatal.hpp: fatal, restart_in_place, exit_removed; and
// revkvd's exit after a failed core actor) flush the logs and leave the loggers in place: other
// threads keep logging until the _Exit or the exec ends them. spdlog::shutdown() there dropped
// the default logger under them, and a cluster member losing leadership died of SIGSEGV
// (status 139) in place of its restart: a thread's next log call went through a null logger.

#include "actors/fatal.hpp"

#include <catch2/catch.hpp>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <memory>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace {

// In a child process, so that a crash is this test's failure and not the test runner's: threads
// log before, during and after the flush, as a node's threads do around its exit.
[[noreturn]] void log_around_the_exit_flush() {
  spdlog::set_default_logger(spdlog::null_logger_mt("exit-logging-test"));
  constexpr int kThreads = 4;
  constexpr int kLogsAfterFlush = 2000;
  std::atomic<int> started{0};
  std::atomic<bool> flushed{false};
  std::vector<std::thread> loggers;
  for (int i = 0; i < kThreads; ++i) {
    loggers.emplace_back([&] {
      started.fetch_add(1);
      while (!flushed.load())
        spdlog::info("before the exit flush");
      for (int n = 0; n < kLogsAfterFlush; ++n)
        spdlog::info("after the exit flush {}", n);
    });
  }
  while (started.load() < kThreads)
    std::this_thread::yield();
  revkv::actors::flush_logs();
  flushed.store(true);
  for (auto& thread : loggers)
    thread.join();
  spdlog::critical("still logging on the flushing thread");
  std::_Exit(0);
}

}  // namespace

TEST_CASE("threads keep logging through the flush of an exit without destructors",
          "[actors][fatal][logging]") {
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) log_around_the_exit_flush();
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  INFO("child status " << status);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
}
