#pragma once

// Catch2's main() for every test binary, with one change: a run whose filter matches no
// test case fails (Catch's `--warn NoTests`). CTest runs each discovered test case by its
// name; a name that does not survive the trip would otherwise select nothing and pass
// without running: CTest splits names on ';', and Catch reads '[' as a tag and '\' as an
// escape in a filter. Test names use none of the three.

#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

namespace revkv::testing {

inline int run_catch_session(int argc, char* argv[]) {
  Catch::Session session;
  if (int rc = session.applyCommandLine(argc, argv); rc != 0) return rc;
  auto& config = session.configData();
  config.warnings =
      static_cast<Catch::WarnAbout::What>(config.warnings | Catch::WarnAbout::NoTests);
  return session.run();
}

}  // namespace revkv::testing
