#pragma once

// A test that cannot run where it runs reports itself skipped, never passed: it prints
// this marker, and CTest (SKIP_REGULAR_EXPRESSION on every discovered test, tests/*/
// CMakeLists.txt) reports the test as skipped.

#include <catch2/catch.hpp>

#include <iostream>
#include <string>

namespace revkv::testing {

inline constexpr const char* kSkipMarker = "REVKV-SKIPPED:";

inline void report_skipped(const std::string& why) {
  std::cout << kSkipMarker << " " << why << std::endl;
  WARN("skipped: " << why);
}

}  // namespace revkv::testing
