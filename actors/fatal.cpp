#include "actors/fatal.hpp"

#include <spdlog/spdlog.h>

#include <atomic>
#include <cstdlib>

namespace revkv::actors {
namespace {

std::atomic<FatalHandler> fatal_handler{nullptr};

}  // namespace

void set_fatal_handler_for_test(FatalHandler handler) {
  fatal_handler.store(handler);
}

void fatal(std::string_view what) {
  if (auto handler = fatal_handler.load()) handler(what);
  spdlog::critical("fatal storage failure, exiting: {}", what);
  spdlog::shutdown();
  std::_Exit(70);  // EX_SOFTWARE; no destructors: nothing more may reach the disk
}

}  // namespace revkv::actors
