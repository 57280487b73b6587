// Catch2's main() and CAF's test-engine symbols (test_coordinator_fixture reads the
// engine's argc/argv) for the deterministic actor tests.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>

#define CAF_TEST_NO_MAIN
#include <caf/test/unit_test_impl.hpp>
