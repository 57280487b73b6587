// util/json: the project's one JSON writer (revkvctl's -w json, the JSON gateway) against
// what Go's encoding/json writes — the encoder of etcdctl 3.4 and of etcd 3.4's gateway.
// The expected texts are Go's (json.Marshal of the same values); the gateway's side-by-side
// test (tests/etcdapi/gateway_clients_test.cpp) checks the same escapes against a real
// etcd 3.4.

#include "util/json.hpp"

#include "util/utf8.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

using revkv::util::json::base64;
using revkv::util::json::dump;
using revkv::util::json::first_value_length;
using revkv::util::json::Json;
using revkv::util::json::parse;
using revkv::util::json::quote;
using revkv::util::json::SyntaxError;

TEST_CASE("json: strings are escaped as Go's encoding/json escapes them") {
  // HTML-safe: <, > and & as \u00XX.
  CHECK(quote("<a href=\"x\">&amp;</a>") ==
        R"("\u003ca href=\"x\"\u003e\u0026amp;\u003c/a\u003e")");
  // Control characters: \n \r \t by name, the rest (\b and \f too, as Go before 1.22) as
  // \u00XX with lowercase hex; DEL is not escaped.
  CHECK(quote(std::string("\x00\x01\b\f\n\r\t\x1f\x7f", 9)) ==
        R"("\u0000\u0001\u0008\u000c\n\r\t\u001f)"
        "\x7f\"");
  CHECK(quote("\"\\/") == R"("\"\\/")");
  // Valid non-ASCII is written as it is, but U+2028 and U+2029 are escaped.
  CHECK(quote("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80") ==
        "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"");
  CHECK(quote("a\xe2\x80\xa8"
              "b\xe2\x80\xa9"
              "c") == R"("a\u2028b\u2029c")");
}

TEST_CASE("json: each byte that does not start valid UTF-8 becomes U+FFFD, as Go writes it") {
  // A stray continuation byte, a lone lead byte, bytes never valid in UTF-8.
  CHECK(quote("a\x80z") == R"("a\ufffdz")");
  CHECK(quote("a\xc3") == R"("a\ufffd")");
  CHECK(quote("\xff\xfe") == R"("\ufffd\ufffd")");
  // A sequence cut short: Go replaces byte by byte (two here), not the whole sequence.
  CHECK(quote("\xe2\x82z") == R"("\ufffd\ufffdz")");
  // An overlong '/', a UTF-16 surrogate, a code point above U+10FFFF: invalid throughout.
  CHECK(quote("\xc0\xaf") == R"("\ufffd\ufffd")");
  CHECK(quote("\xed\xa0\x80") == R"("\ufffd\ufffd\ufffd")");
  CHECK(quote("\xf4\x90\x80\x80") == R"("\ufffd\ufffd\ufffd\ufffd")");
  // A real U+FFFD is valid UTF-8 and written as it is.
  CHECK(quote("\xef\xbf\xbd") == "\"\xef\xbf\xbd\"");
  // Go's decoder's view of the same bytes inside a JSON string: U+FFFD per byte.
  CHECK(revkv::util::utf8::with_replacements("a\xe2\x82z\xff") ==
        "a\xef\xbf\xbd\xef\xbf\xbdz\xef\xbf\xbd");
}

TEST_CASE("utf8: valid is Go's rule for the whole text") {
  using revkv::util::utf8::valid;
  CHECK(valid(""));
  CHECK(valid("plain ascii"));
  CHECK(valid("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xef\xbf\xbd"));
  CHECK_FALSE(valid("a\x80z"));                   // a stray continuation byte
  CHECK_FALSE(valid("ab\xc3"));                   // a sequence cut short at the end
  CHECK_FALSE(valid("\xc0\xaf"));                 // an overlong form
  CHECK_FALSE(valid("\xed\xa0\x80"));             // a UTF-16 surrogate
  CHECK_FALSE(valid("\xf4\x90\x80\x80"));         // above U+10FFFF
  CHECK_FALSE(valid(std::string("a\0\xff", 3)));  // NUL is valid, 0xff never
  CHECK(valid(std::string("a\0b", 3)));
}

TEST_CASE("json: documents keep their members' order, numbers and bytes as Go writes them") {
  Json o = {{"header", {{"cluster_id", uint64_t{14841639068965178418u}}, {"revision", 5}}},
            {"kvs", Json::array({{{"key", base64("foo")}}})},
            {"count", int64_t{-9223372036854775807 - 1}},
            {"more", false},
            {"Keys", nullptr},
            {"name", "<&>"}};
  CHECK(dump(o) ==
        R"({"header":{"cluster_id":14841639068965178418,"revision":5},"kvs":[{"key":"Zm9v"}],)"
        R"("count":-9223372036854775808,"more":false,"Keys":null,"name":"\u003c\u0026\u003e"})");
  CHECK(dump(Json::object()) == "{}");
  CHECK(dump(Json::array()) == "[]");
  // Member names are escaped too.
  CHECK(dump({{"a<b", 1}}) == R"({"a\u003cb":1})");
  CHECK(base64("") == "");
  CHECK(base64("\xff\xfe") == "//4=");
}

TEST_CASE("json: a syntax error is named in the words of Go's decoder") {
  const auto error = [](std::string_view text) {
    SyntaxError e;
    return parse(text, &e) ? std::string("parsed") : e.message;
  };
  // Each as etcd 3.4's gateway answers the same body.
  CHECK(error(R"({"key":)") == "unexpected EOF");
  CHECK(error("[1,2") == "unexpected EOF");
  CHECK(error(R"("abc)") == "unexpected EOF");
  CHECK(error("{x") == "invalid character 'x' looking for beginning of object key string");
  CHECK(error(R"({"key" 1})") == "invalid character '1' after object key");
  CHECK(error(R"({"key":"Zm9v" "a"})") == "invalid character '\"' after object key:value pair");
  CHECK(error("[1 2]") == "invalid character '2' after array element");
  CHECK(error("nul}") == "invalid character '}' in literal null (expecting 'l')");
  CHECK(error(R"({"limit":-})") == "invalid character '}' in numeric literal");
  CHECK(error("{\"key\":\"\x01\"}") == "invalid character '\\x01' in string literal");
  CHECK(error(R"({"key":"\x"})") == "invalid character 'x' in string escape code");
  CHECK(error(R"({"a":1,})") == "invalid character '}' looking for beginning of object key string");
  CHECK(error("}") == "invalid character '}' looking for beginning of value");
  CHECK(error(R"({"a":[1,{"b":"<"}]})") == "parsed");
  // A literal where Go expects no value: Go names its first letter, not the literal.
  CHECK(error("{not json") == "invalid character 'n' looking for beginning of object key string");
  CHECK(error(R"({"key" nul})") == "invalid character 'n' after object key");
  CHECK(error(R"({"a":1 tru})") == "invalid character 't' after object key:value pair");
  CHECK(error("[1 fals]") == "invalid character 'f' after array element");
  CHECK(error(R"({"a":tx})") == "invalid character 'x' in literal true (expecting 'r')");
  // Numbers: where in the number it broke.
  CHECK(error(R"({"a":1.})") == "invalid character '}' after decimal point in numeric literal");
  CHECK(error(R"({"a":1e})") == "invalid character '}' in exponent of numeric literal");
  CHECK(error(R"({"a":1e+x})") == "invalid character 'x' in exponent of numeric literal");
  CHECK(error(R"({"a":01})") == "invalid character '1' after object key:value pair");
  CHECK(error("1.") == "unexpected EOF");
  CHECK(error("-") == "unexpected EOF");
  CHECK(error("12") == "parsed");
  // Strings: escapes, \u digits, control characters named as Go's strconv.Quote names them.
  CHECK(error(R"({"a":"\u12x4"})") == "invalid character 'x' in \\u hexadecimal character escape");
  CHECK(error("{\"a\":\"x\ny\"}") == "invalid character '\\n' in string literal");
  CHECK(error("{\"a\":\"\b\"}") == "invalid character '\\b' in string literal");
  CHECK(error("{\"a\":\x7f}") == "invalid character '\\x7f' looking for beginning of value");
  CHECK(error(R"({"a":\})") == "invalid character '\\\\' looking for beginning of value");
  // A byte over 0x7f is the code point U+00XX to Go: printable ones as that character.
  CHECK(error("{\"a\":\xe9}") == "invalid character '\xc3\xa9' looking for beginning of value");
  CHECK(error("{\"a\":\x85}") == "invalid character '\\u0085' looking for beginning of value");
  CHECK(error("{\"a\":\xa0}") == "invalid character '\\u00a0' looking for beginning of value");
  // Anything after the value.
  CHECK(error("{} x") == "invalid character 'x' after top-level value");
  CHECK(error(" [1] ") == "parsed");
  // Go's nesting bound.
  CHECK(error(std::string(10000, '[') + std::string(10000, ']')) == "parsed");
  CHECK(error(std::string(10001, '[')) == "invalid character '[' exceeded max depth");
}

TEST_CASE("json: a number beyond a double's range is valid JSON, not held, and no exception") {
  for (std::string_view text : {R"({"x":1e999})", "[-1E400]", "1e309"}) {
    SyntaxError e;
    CHECK_FALSE(parse(text, &e));
    CHECK(e.number_out_of_range);
    CHECK_FALSE(parse(text));  // without an error to fill
  }
  SyntaxError syntax;
  CHECK_FALSE(parse("[1,", &syntax));
  CHECK_FALSE(syntax.number_out_of_range);
  CHECK(parse("1e308"));
}

TEST_CASE("json: the first value of a body that holds several, as it arrives") {
  CHECK(first_value_length(R"({"a":"}{"} {"b":1})") == 10u);
  CHECK(first_value_length(R"(  [1,{"c":"\"]"}] x)") == 17u);
  CHECK_FALSE(first_value_length(R"({"a":{"b":1})").has_value());
  CHECK_FALSE(first_value_length("   ").has_value());
  // Not an object or array: the rest, for parse() to name the error.
  CHECK(first_value_length("tru") == 3u);
  // A scalar ends where Go's decoder ends it, when more follows.
  CHECK(first_value_length(R"(null {"ID":1})") == 4u);
  CHECK(first_value_length(R"( "a\"b" 1)") == 7u);
  CHECK(first_value_length("12 34") == 2u);
  CHECK(first_value_length("12") == 2u);
}

TEST_CASE("json: raw values, read as Go keeps them in a json.RawMessage") {
  using namespace revkv::util::json;
  CHECK(kind(R"( {"a":1})") == '{');
  CHECK(kind("-1.5") == '0');
  CHECK(kind("null") == 'n');
  const std::string object = R"({ "a" : [1, {"b":"}"}] , "c\u0041":"x\"y", "d":-2.5e3 })";
  const RawText text(object);
  std::vector<std::pair<std::string, std::string_view>> m;
  text.for_each_member(object, [&](std::string_view name, std::string_view value) {
    m.emplace_back(unquote(name), value);
  });
  REQUIRE(m.size() == 3);
  CHECK(m[0].first == "a");
  CHECK(m[0].second == R"([1, {"b":"}"}])");
  CHECK(m[1].first == "cA");
  CHECK(m[1].second == R"("x\"y")");
  CHECK(m[2].second == "-2.5e3");
  // The nested array, read from the same text.
  std::vector<std::string_view> inner;
  text.for_each_element(m[0].second, [&](std::string_view e) { inner.push_back(e); });
  REQUIRE(inner.size() == 2);
  CHECK(inner[1] == R"({"b":"}"})");
  const std::string array = R"([ true ,null,"]", [] ])";
  std::vector<std::string_view> e;
  RawText(array).for_each_element(array, [&](std::string_view v) { e.push_back(v); });
  REQUIRE(e.size() == 4);
  CHECK(e[0] == "true");
  CHECK(e[2] == R"("]")");
  CHECK(e[3] == "[]");
  const std::string empty = "[ ]";
  int count = 0;
  RawText(empty).for_each_element(empty, [&](std::string_view) { ++count; });
  CHECK(count == 0);
  CHECK(unquote("") == "");
}

TEST_CASE("json: strings unquoted as Go's decoder unquotes them") {
  using revkv::util::json::unquote;
  CHECK(unquote(R"("a\"b\\c\/d\n\t")") == "a\"b\\c/d\n\t");
  CHECK(unquote(R"("\u00e9\ud83d\ude00")") == "\xc3\xa9\xf0\x9f\x98\x80");
  // A lone surrogate, either half, is U+FFFD; what follows is read on its own.
  CHECK(unquote(R"("\ud83dx")") == "\xef\xbf\xbdx");
  CHECK(unquote(R"("\ude00\u0041")") ==
        "\xef\xbf\xbd"
        "A");
  CHECK(unquote(R"("\ud83d\u0041")") ==
        "\xef\xbf\xbd"
        "A");
  // Each byte that is not UTF-8 is U+FFFD.
  CHECK(unquote("\"a\xff\xfe\"") == "a\xef\xbf\xbd\xef\xbf\xbd");
}

TEST_CASE("json: base64 decoded as Go's StdEncoding decodes it, with its error offsets") {
  using revkv::util::json::decode_base64;
  const auto ok = [](std::string_view text) {
    auto r = decode_base64(text);
    return r.corrupt_at ? std::string("corrupt at ") + std::to_string(*r.corrupt_at) : r.bytes;
  };
  CHECK(ok("") == "");
  CHECK(ok("Zm9v") == "foo");
  CHECK(ok("Zm8=") == "fo");
  CHECK(ok("Zg==") == "f");
  CHECK(ok("Zm\r\n9v") == "foo");  // line ends are skipped
  CHECK(ok("Zg=\n=") == "f");
  CHECK(ok("Z2s") == "corrupt at 0");  // padding is required: the short quantum's start
  CHECK(ok("Zm9vZg") == "corrupt at 4");
  CHECK(ok("Z2sx=") == "corrupt at 4");
  CHECK(ok("Z2sx-_") == "corrupt at 4");  // not the standard alphabet
  CHECK(ok("!!!") == "corrupt at 0");
  CHECK(ok("Zg=") == "corrupt at 3");       // the second '=' missing
  CHECK(ok("Zg=x") == "corrupt at 2");      // something else in its place
  CHECK(ok("Zg==Zg==") == "corrupt at 4");  // anything after the padding
  CHECK(ok("Z===") == "corrupt at 1");
}

TEST_CASE("json: Go's json.Unmarshal syntax words") {
  using revkv::util::json::unmarshal_syntax_error;
  CHECK(unmarshal_syntax_error(" 5 ") == std::nullopt);
  CHECK(unmarshal_syntax_error("") == "unexpected end of JSON input");
  CHECK(unmarshal_syntax_error("{") == "unexpected end of JSON input");
  CHECK(unmarshal_syntax_error(R"("abc)") == "unexpected end of JSON input");
  // Cut inside a token: Go's last step, a blank, finds the error.
  CHECK(unmarshal_syntax_error("1.") ==
        "invalid character ' ' after decimal point in numeric literal");
  CHECK(unmarshal_syntax_error("-") == "invalid character ' ' in numeric literal");
  CHECK(unmarshal_syntax_error("tru") == "invalid character ' ' in literal true (expecting 'e')");
  CHECK(unmarshal_syntax_error("5x") == "invalid character 'x' after top-level value");
  CHECK(unmarshal_syntax_error("abc") == "invalid character 'a' looking for beginning of value");
  CHECK(unmarshal_syntax_error(R"(\"5\")") ==
        "invalid character '\\\\' looking for beginning of value");
}
