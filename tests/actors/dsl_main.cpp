// Catch2's main() (tests/catch_session.hpp) and CAF's test-engine symbols
// (test_coordinator_fixture reads the engine's argc/argv) for the deterministic actor tests.
#include "tests/catch_session.hpp"

#define CAF_TEST_NO_MAIN
#include <caf/test/unit_test_impl.hpp>

int main(int argc, char* argv[]) {
  return revkv::testing::run_catch_session(argc, argv);
}
