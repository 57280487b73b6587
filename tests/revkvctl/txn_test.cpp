#include "apps/revkvctl/txn_input.hpp"

#include <catch2/catch.hpp>

#include <sstream>

using namespace revkv;
using namespace revkv::ctl;

TEST_CASE("argify splits like etcdctl") {
  CHECK(argify(R"(put k "a b")") == std::vector<std::string>{"put", "k", "a b"});
  CHECK(argify(R"(put 'x y' "q\"\n")") == std::vector<std::string>{"put", "x y", "q\"\n"});
  CHECK(argify("  get   k  ") == std::vector<std::string>{"get", "k"});
}

TEST_CASE("compares") {
  auto m = parse_compare(R"(mod("key1") > "0")");
  REQUIRE(m.ok());
  CHECK(m.value().key == "key1");
  CHECK(m.value().target == static_cast<int32_t>(storage::CompareTarget::mod));
  CHECK(m.value().result == static_cast<int32_t>(storage::CompareResult::greater));
  CHECK(m.value().union_kind == storage::CompareTarget::mod);
  CHECK(m.value().number == 0);

  auto v = parse_compare(R"(val("k") != "hello world")");
  REQUIRE(v.ok());
  CHECK(v.value().value == "hello world");
  CHECK(v.value().result == static_cast<int32_t>(storage::CompareResult::not_equal));

  auto l = parse_compare(R"(lease("k") = "1f")");
  REQUIRE(l.ok());
  CHECK(l.value().number == 31);
  CHECK(parse_compare(R"(ver("k") < "3")").value().number == 3);
  CHECK(parse_compare(R"(c("k") = "3")").value().target ==
        static_cast<int32_t>(storage::CompareTarget::create));

  CHECK_FALSE(parse_compare(R"(size("k") = "3")").ok());
  CHECK_FALSE(parse_compare(R"(mod("k") >= "3")").ok());
  CHECK_FALSE(parse_compare(R"(mod("k") = "x")").ok());
  CHECK_FALSE(parse_compare("mod(k) = 3").ok());
}

TEST_CASE("request ops") {
  auto p = parse_request_op(R"(put k "v v" --lease=1f)");
  REQUIRE(p.ok());
  auto& put = std::get<storage::PutRequest>(p.value().op);
  CHECK(put.value == "v v");
  CHECK(put.lease == 31);
  auto g = parse_request_op("get a --prefix --limit 2");
  REQUIRE(g.ok());
  CHECK(std::get<storage::RangeRequest>(g.value().op).range_end == "b");
  CHECK(std::get<storage::RangeRequest>(g.value().op).limit == 2);
  auto d = parse_request_op("del a c");
  REQUIRE(d.ok());
  CHECK(std::get<storage::DeleteRangeRequest>(d.value().op).range_end == "c");
  CHECK_FALSE(parse_request_op("put k").ok());
  CHECK_FALSE(parse_request_op("watch k").ok());
  CHECK(parse_request_op("get").error().message.rfind("invalid txn request: get", 0) == 0);
}

TEST_CASE("read_txn reads three blank-line separated sections") {
  std::istringstream in(
      "mod(\"key1\") > \"0\"\n"
      "\n"
      "put key1 \"overwrote-key1\"\n"
      "get key1\n"
      "\n"
      "put key1 \"created-key1\"\n"
      "\n");
  std::ostringstream prompts;
  auto t = read_txn(in, &prompts);
  REQUIRE(t.ok());
  CHECK(t.value().compare.size() == 1);
  CHECK(t.value().success.size() == 2);
  CHECK(t.value().failure.size() == 1);
  CHECK(prompts.str() ==
        "compares:\nsuccess requests (get, put, del):\nfailure requests (get, put, del):\n");

  std::istringstream empty("\n\n\n");
  auto e = read_txn(empty, nullptr);
  REQUIRE(e.ok());
  CHECK(e.value().compare.empty());

  std::istringstream bad("nonsense\n");
  CHECK_FALSE(read_txn(bad, nullptr).ok());
}

TEST_CASE("read_txn refuses input that ends before the failure section is closed") {
  // etcdctl reads each line up to its newline; the end of input anywhere is Go's io.EOF.
  for (const char* input :
       {"", "value(\"k\") = \"v\"", "value(\"k\") = \"v\"\n", "value(\"k\") = \"v\"\n\n",
        "value(\"k\") = \"v\"\n\nput k w", "value(\"k\") = \"v\"\n\nput k w\n\n",
        "value(\"k\") = \"v\"\n\nput k w\n\nput k x\n"}) {
    INFO("input: " << input);
    std::istringstream in(input);
    auto t = read_txn(in, nullptr);
    REQUIRE_FALSE(t.ok());
    CHECK(t.error().message == "EOF");
  }
  std::istringstream whole("value(\"k\") = \"v\"\n\nput k w\n\nput k x\n\n");
  CHECK(read_txn(whole, nullptr).ok());
}
