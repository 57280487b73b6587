#pragma once

// CAF 0.17's deterministic test DSL (caf/test/dsl.hpp: test_coordinator_fixture, expect)
// inside Catch2 test cases. Include this instead of caf/test/dsl.hpp, in test files only
// (dsl.hpp defines lowercase macros and a global `_`). The test binary's main TU must
// include caf/test/unit_test_impl.hpp with CAF_TEST_NO_MAIN (tests/actors/dsl_main.cpp).

#include <caf/test/unit_test.hpp>
#include <catch2/catch.hpp>

// dsl.hpp's templates expand CAF's check macros where it is included: point them at
// Catch2 first.
#undef CAF_MESSAGE
#undef CAF_CHECK
#undef CAF_CHECK_EQUAL
#undef CAF_REQUIRE
#undef CAF_REQUIRE_EQUAL
#undef CAF_FAIL
#define CAF_MESSAGE(msg) INFO(msg)
#define CAF_CHECK(...) CHECK(__VA_ARGS__)
#define CAF_CHECK_EQUAL(x, y) CHECK((x) == (y))
#define CAF_REQUIRE(...) REQUIRE(__VA_ARGS__)
#define CAF_REQUIRE_EQUAL(x, y) REQUIRE((x) == (y))
#define CAF_FAIL(msg) FAIL(msg)

#include <caf/test/dsl.hpp>

// CAF's expect clause checks in its destructor; a failing Catch2 REQUIRE throws, and a
// throw from a destructor terminates the test run. This one checks when told to.
template <class... Ts>
struct checked_expect_clause : expect_clause<Ts...> {
  using expect_clause<Ts...>::expect_clause;
  ~checked_expect_clause() { this->peek_ = nullptr; }
  void check() {
    auto peek = std::move(this->peek_);
    this->peek_ = nullptr;
    peek();
    this->run_once();
  }
};

#undef expect
// expect((types...), from(a).to(b)): the next message of b is of these types, from a;
// b then handles it.
#define expect(types, fields)                                                  \
  do {                                                                         \
    INFO("expect" #types "." #fields);                                         \
    checked_expect_clause<CAF_EXPAND(CAF_DSL_LIST types)> revkv_clause{sched}; \
    revkv_clause.fields;                                                       \
    revkv_clause.check();                                                      \
  } while (false)
