#include "actors/fatal.hpp"

#include <spdlog/spdlog.h>

#include <cstdlib>

namespace revkv::actors {

void fatal(std::string_view what) {
  spdlog::critical("fatal storage failure, exiting: {}", what);
  spdlog::shutdown();
  std::_Exit(70);  // EX_SOFTWARE; no destructors: nothing more may reach the disk
}

}  // namespace revkv::actors
