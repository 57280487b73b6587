#include "storage/range_rules.hpp"
#include "storage/txn_rules.hpp"

#include <catch2/catch.hpp>

using namespace revkv::storage;

namespace {

RequestOp put_op(std::string key) {
  RequestOp op;
  op.op = PutRequest{std::move(key), "v"};
  return op;
}

RequestOp del_op(std::string key, std::optional<std::string> end = std::nullopt) {
  RequestOp op;
  op.op = DeleteRangeRequest{std::move(key), std::move(end), false};
  return op;
}

RequestOp txn_op(std::vector<RequestOp> then_ops, std::vector<RequestOp> else_ops = {}) {
  RequestOp op;
  op.op = Box<TxnRequest>(TxnRequest{{}, std::move(then_ops), std::move(else_ops)});
  return op;
}

Errc validate(std::vector<RequestOp> then_ops, int64_t max_ops = 128) {
  auto s = validate_txn(TxnRequest{{}, std::move(then_ops), {}}, max_ops);
  return s.ok() ? Errc::ok : s.error().code();
}

}  // namespace

TEST_CASE("prefix_end and key ranges", "[rules]") {
  CHECK(prefix_end("a") == "b");
  CHECK(prefix_end("a\xff") == "b");
  CHECK(prefix_end("ab\xff\xff") == "ac");
  CHECK(prefix_end("\xff") == std::string(1, '\0'));
  CHECK(KeyRange::from_request("a", std::nullopt).single());
  CHECK(KeyRange::from_request("a", std::string{}).single());
  auto open = KeyRange::from_request("b", std::string(1, '\0'));
  CHECK(open.contains("zzz"));
  CHECK_FALSE(open.contains("a"));
  auto half = KeyRange::from_request("b", std::string("d"));
  CHECK(half.contains("b"));
  CHECK(half.contains("c\xff"));
  CHECK_FALSE(half.contains("d"));
}

TEST_CASE("range validation and revision resolution", "[rules]") {
  CHECK(validate_range(RangeRequest{}).error().code() == Errc::empty_key);
  RangeRequest r;
  r.key = "k";
  r.sort_order = 3;
  CHECK(validate_range(r).error().code() == Errc::invalid_sort_option);
  r.sort_order = 0;
  r.sort_target = -1;
  CHECK(validate_range(r).error().code() == Errc::invalid_sort_option);
  CHECK(resolve_read_revision(0, 5, -1).value() == 5);
  CHECK(resolve_read_revision(-3, 5, 4).value() == 5);
  CHECK(resolve_read_revision(6, 5, -1).error().code() == Errc::future_revision);
  CHECK(resolve_read_revision(3, 5, 4).error().code() == Errc::compacted);
  CHECK(resolve_read_revision(4, 5, 4).value() == 4);
}

TEST_CASE("fetch limit follows etcd's limit+1 rule", "[rules]") {
  RangeRequest r;
  r.key = "a";
  CHECK(fetch_limit(r) == 0);
  r.limit = 3;
  CHECK(fetch_limit(r) == 4);
  r.sort_target = static_cast<int32_t>(SortTarget::version);  // order NONE: quirk Q12
  CHECK(fetch_limit(r) == 4);
  r.sort_order = static_cast<int32_t>(SortOrder::ascend);
  CHECK(fetch_limit(r) == 0);
  r.sort_order = 0;
  r.min_mod_revision = 1;
  CHECK(fetch_limit(r) == 0);
}

TEST_CASE("finish_range filters, sorts, truncates", "[rules]") {
  std::vector<KeyValue> kvs = {
      {"a", 3, 3, 1, "z", 0}, {"b", 2, 5, 2, "y", 0}, {"c", 4, 4, 1, "x", 0}};
  RangeRequest r;
  r.key = "a";
  r.limit = 2;
  r.sort_target = static_cast<int32_t>(SortTarget::create);
  r.sort_order = static_cast<int32_t>(SortOrder::descend);
  auto out = finish_range(r, kvs, 3, 9);
  CHECK(out.revision == 9);
  CHECK(out.count == 3);
  CHECK(out.more);
  REQUIRE(out.kvs.size() == 2);
  CHECK(out.kvs[0].key == "c");
  CHECK(out.kvs[1].key == "a");

  r = RangeRequest{};
  r.key = "a";
  r.max_mod_revision = 4;
  r.keys_only = true;
  out = finish_range(r, kvs, 3, 9);
  REQUIRE(out.kvs.size() == 2);
  CHECK(out.kvs[0].value.empty());
  CHECK(out.count == 3);  // count ignores the filters (Q10)

  r.count_only = true;
  r.limit = 1;
  out = finish_range(r, kvs, 3, 9);
  CHECK(out.kvs.empty());
  CHECK_FALSE(out.more);
}

TEST_CASE("txn validation: counts, empty ops, duplicate keys", "[rules]") {
  CHECK(validate({put_op("a"), put_op("a")}) == Errc::duplicate_key);
  CHECK(validate({put_op("abc"), del_op("a", "b")}) == Errc::duplicate_key);
  CHECK(validate({del_op("a", std::string(1, '\0')), put_op("b")}) == Errc::duplicate_key);
  CHECK(validate({del_op("c", std::string(1, '\0')), put_op("b")}) == Errc::ok);
  CHECK(validate({txn_op({put_op("k")}), txn_op({del_op("k")})}) == Errc::ok);  // Q1
  CHECK(validate({txn_op({del_op("k")}), txn_op({put_op("k")})}) == Errc::duplicate_key);
  CHECK(validate({txn_op({put_op("k")}, {put_op("k")})}) == Errc::ok);
  CHECK(validate({RequestOp{}}) == Errc::key_not_found);
  CHECK(validate({put_op("a"), put_op("b"), put_op("c"), put_op("d")}, 3) == Errc::too_many_ops);
  CHECK(validate({put_op("a"), txn_op({put_op("b"), put_op("c")})}, 3) == Errc::too_many_ops);
  CHECK(validate({put_op("a"), txn_op({put_op("b")})}, 3) == Errc::ok);
  CHECK(validate({put_op("")}) == Errc::empty_key);

  // A deeply nested txn within the op budget validates without trouble.
  RequestOp deep = put_op("leaf");
  for (int i = 0; i < 60; ++i)
    deep = txn_op({deep});
  CHECK(validate({deep}) == Errc::ok);
  CHECK(validate({deep}, 50) == Errc::too_many_ops);
}

TEST_CASE("compare semantics", "[rules]") {
  Compare c;
  c.key = "k";
  c.target = static_cast<int32_t>(CompareTarget::value);
  c.result = static_cast<int32_t>(CompareResult::not_equal);
  c.union_kind = CompareTarget::value;
  c.value = "x";
  CHECK_FALSE(compare_holds(c, {}));  // Q9: VALUE on a missing key is false
  CHECK(compare_holds(c, {KeyValue{"k", 1, 1, 1, "y", 0}}));

  c.target = static_cast<int32_t>(CompareTarget::version);
  c.result = static_cast<int32_t>(CompareResult::equal);
  c.union_kind = CompareTarget::version;
  c.number = 0;
  CHECK(compare_holds(c, {}));          // a missing key has version 0
  c.union_kind = CompareTarget::value;  // wrong union member compares as 0
  c.number = 5;
  CHECK(compare_holds(c, {}));
  c.result = 99;  // unknown result: true
  CHECK(compare_holds(c, {KeyValue{"k", 1, 1, 7, "", 0}}));

  c = Compare{};
  c.key = "a";
  c.target = static_cast<int32_t>(CompareTarget::create);
  c.result = static_cast<int32_t>(CompareResult::less);
  c.union_kind = CompareTarget::create;
  c.number = 5;
  CHECK(compare_holds(c, {KeyValue{"a", 2, 2, 1, "", 0}, KeyValue{"b", 4, 4, 1, "", 0}}));
  CHECK_FALSE(compare_holds(c, {KeyValue{"a", 2, 2, 1, "", 0}, KeyValue{"b", 5, 5, 1, "", 0}}));
}

TEST_CASE("fetch limit does not overflow at INT64_MAX", "[rules]") {
  RangeRequest r;
  r.key = "a";
  r.limit = INT64_MAX;
  CHECK(fetch_limit(r) == 0);
}

TEST_CASE("a Txn of serializable Ranges only is a serializable read", "[rules]") {
  auto range_op = [](bool serializable) {
    RangeRequest r;
    r.key = "k";
    r.serializable = serializable;
    return RequestOp{r};
  };
  CHECK(is_serializable_read_txn(TxnRequest{{}, {range_op(true)}, {range_op(true)}}));
  CHECK(is_serializable_read_txn(TxnRequest{{}, {}, {range_op(true)}}));
  // etcd's rule takes a Txn without ops too; here a compare-only Txn stays linearizable.
  CHECK_FALSE(is_serializable_read_txn(TxnRequest{}));
  CHECK_FALSE(is_serializable_read_txn(TxnRequest{{}, {range_op(true)}, {range_op(false)}}));
  CHECK_FALSE(is_serializable_read_txn(TxnRequest{{}, {range_op(true), put_op("k")}, {}}));
  CHECK_FALSE(is_serializable_read_txn(TxnRequest{{}, {txn_op({range_op(true)})}, {}}));
  CHECK_FALSE(is_serializable_read_txn(TxnRequest{{}, {RequestOp{}}, {}}));
}
