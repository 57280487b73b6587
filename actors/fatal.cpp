#include "actors/fatal.hpp"

#include <caf/error.hpp>
#include <caf/sec.hpp>
#include <spdlog/spdlog.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

namespace revkv::actors {
namespace {

std::atomic<FatalHandler> fatal_handler{nullptr};

}  // namespace

void flush_logs() {
  spdlog::apply_all([](const std::shared_ptr<spdlog::logger>& logger) { logger->flush(); });
}

void set_fatal_handler_for_test(FatalHandler handler) {
  fatal_handler.store(handler);
}

void fatal(std::string_view what) {
  if (auto handler = fatal_handler.load()) handler(what);
  spdlog::critical("fatal storage failure, exiting: {}", what);
  flush_logs();
  std::_Exit(70);  // EX_SOFTWARE; no destructors: nothing more may reach the disk
}

void fatal_unless_stopped(std::string_view what, const caf::error& err, bool stopping) {
  if (stopping && err == caf::sec::request_receiver_down) {
    spdlog::info(
        "{}: the actor asked stopped (the node stops); the rest is recovered at the "
        "next start",
        what);
    return;
  }
  fatal(std::string(what) + ": " + caf::to_string(err));
}

void restart_in_place(std::string_view why, std::string_view to) {
  if (auto handler = fatal_handler.load()) handler(why);
  spdlog::critical("{}; restarting in place to {}", why, to);
  flush_logs();
  // This process's own arguments, as it was started.
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  std::string cmdline((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<char*> argv;
  for (size_t at = 0; at < cmdline.size(); at += std::strlen(cmdline.data() + at) + 1)
    argv.push_back(cmdline.data() + at);
  argv.push_back(nullptr);
  // Every descriptor but stdin/stdout/stderr closes on exec: the listeners (the new image
  // binds them again), RocksDB's files and its LOCK, libraft's. Marked rather than closed
  // here, so that no other thread of this process writes into a reused number meanwhile.
  if (::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
    for (int fd = 3; fd < 65536; ++fd)
      ::fcntl(fd, F_SETFD, FD_CLOEXEC);
  }
  // Other threads are mid-way wherever they are: the exec ends them as a crash would, and
  // the start recovers what a crash leaves (docs/CLUSTER.md "Leadership loss").
  ::execv("/proc/self/exe", argv.data());
  std::fprintf(stderr, "cannot re-execute revkvd (%s); exiting with status 70\n",
               std::strerror(errno));
  std::_Exit(70);
}

void exit_removed(std::string_view why, const std::function<void()>& stop,
                  std::chrono::milliseconds delay) {
  spdlog::warn("{}; this member was removed from the cluster: stopping", why);
  if (stop) stop();
  std::this_thread::sleep_for(delay);
  spdlog::info("stopped (removed from the cluster)");
  flush_logs();
  std::_Exit(0);
}

}  // namespace revkv::actors
