#include "protocol/frame.hpp"

#include "protocol/codec.hpp"
#include "tests/protocol/test_util.hpp"

#include <catch2/catch.hpp>

#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace revkv::protocol {
namespace {

using namespace revkv::protocol::test;  // NOLINT: test file

std::string request(uint32_t msgid, std::string_view method, std::string_view body) {
  msgpack::sbuffer sb;
  write_request(sb, msgid, method, body);
  return std::string(sb.data(), sb.size());
}

std::string raw_frame(const Raw& r) {
  return r.bytes;
}

// A literal's bytes, embedded NULs included.
template <std::size_t N>
std::string bytes(const char (&s)[N]) {
  return std::string(s, N - 1);
}

// What a frame decoded to, comparable across feeding patterns.
std::string describe(const Frame& f) {
  if (const auto* r = std::get_if<RequestFrame>(&f)) {
    msgpack::sbuffer sb;
    msgpack::pack(sb, r->body);
    return "req " + std::to_string(r->msgid) + " " + r->method + " " +
           std::string(sb.data(), sb.size());
  }
  const auto& e = std::get<FrameError>(f);
  return "err " + std::to_string(e.msgid) + " " + std::to_string(e.error.code) + " " +
         e.error.message + (e.close ? " close" : " keep");
}

std::vector<std::string> drain(FrameDecoder& d) {
  std::vector<std::string> out;
  while (auto f = d.next())
    out.push_back(describe(*f));
  return out;
}

std::vector<std::string> decode_all(std::string_view bytes, FrameLimits limits = {}) {
  FrameDecoder d(limits);
  d.feed(bytes);
  return drain(d);
}

FrameError only_error(std::string_view bytes, FrameLimits limits = {}) {
  FrameDecoder d(limits);
  d.feed(bytes);
  auto f = d.next();
  REQUIRE(f);
  REQUIRE(std::holds_alternative<FrameError>(*f));
  return std::get<FrameError>(*f);
}

long peak_rss_kib() {
  FILE* f = std::fopen("/proc/self/status", "r");
  if (!f) return 0;
  char line[256];
  long kib = 0;
  while (std::fgets(line, sizeof line, f))
    if (std::strncmp(line, "VmHWM:", 6) == 0) kib = std::atol(line + 6);
  std::fclose(f);
  return kib;
}

TEST_CASE("a request frame decodes to msgid, method and body", "[frame]") {
  storage::PutRequest put{"k", "v", 0, true, false, false};
  FrameDecoder d;
  d.feed(request(0xfffffffe, "KV.Put", encode_to_string(put)));
  auto f = d.next();
  REQUIRE(f);
  auto& r = std::get<RequestFrame>(*f);
  CHECK(r.msgid == 0xfffffffe);
  CHECK(r.method == "KV.Put");
  auto body = decode_body<storage::PutRequest>(r.body);
  REQUIRE(body.ok());
  CHECK(body.value() == put);
  CHECK_FALSE(d.next());
  CHECK(d.buffered() == 0);
  CHECK_FALSE(d.closed());
}

TEST_CASE("empty params and params of one nil are an absent body, other params are a bad request",
          "[frame]") {
  auto none = decode_all(request(1, "Maintenance.Status", ""));
  auto nil = decode_all(raw_frame(array(0, 2, "Maintenance.Status", array(Nil{}))));
  REQUIRE(none.size() == 1);
  REQUIRE(nil.size() == 1);
  CHECK(none[0] == "req 1 Maintenance.Status \xc0");
  CHECK(nil[0] == "req 2 Maintenance.Status \xc0");

  auto bad = decode_all(raw_frame(array(0, 3, "KV.Put", array(1))) + request(4, "KV.Put", ""));
  REQUIRE(bad.size() == 2);
  CHECK(bad[0] ==
        "err 3 3 revkv: bad request: params: expected [], [nil], [map] or [map, map] keep");
  CHECK(bad[1] == "req 4 KV.Put \xc0");
  auto three = decode_all(raw_frame(array(0, 5, "KV.Put", array(map(), map(), map()))));
  CHECK(three ==
        std::vector<std::string>{
            "err 5 3 revkv: bad request: params: expected [], [nil], [map] or [map, map] keep"});
  auto second_not_map = decode_all(raw_frame(array(0, 6, "KV.Put", array(map(), 7))));
  CHECK(second_not_map ==
        std::vector<std::string>{
            "err 6 3 revkv: bad request: params: expected [], [nil], [map] or [map, map] keep"});
}

TEST_CASE("a second params map carries the auth token", "[frame]") {
  auto decode_one = [](const std::string& bytes) {
    FrameDecoder d;
    d.feed(bytes);
    auto f = d.next();
    REQUIRE(f);
    return std::move(*f);
  };
  // No metadata map, or one without a token: no token.
  auto plain = decode_one(request(1, "KV.Range", ""));
  CHECK_FALSE(std::get<RequestFrame>(plain).token);
  auto other = decode_one(raw_frame(array(0, 2, "KV.Range", array(map(), map("trace", "x")))));
  CHECK_FALSE(std::get<RequestFrame>(other).token);
  // str or bin; the body stays the first element.
  auto str = decode_one(
      raw_frame(array(0, 3, "KV.Range", array(map("key", Bin{"k"}), map("token", "abc.1")))));
  REQUIRE(std::get<RequestFrame>(str).token);
  CHECK(*std::get<RequestFrame>(str).token == "abc.1");
  CHECK(std::get<RequestFrame>(str).body.type == msgpack::type::MAP);
  auto bin = decode_one(raw_frame(array(0, 4, "KV.Range", array(Nil{}, map("token", Bin{"t"})))));
  REQUIRE(std::get<RequestFrame>(bin).token);
  CHECK(*std::get<RequestFrame>(bin).token == "t");
  // What the writer produces decodes to the same token, with and without a body.
  msgpack::sbuffer sb;
  write_request(sb, 5, "Auth.UserList", "", std::string_view("tok.2"));
  auto written = decode_one(std::string(sb.data(), sb.size()));
  REQUIRE(std::get<RequestFrame>(written).token);
  CHECK(*std::get<RequestFrame>(written).token == "tok.2");
  CHECK(std::get<RequestFrame>(written).body.type == msgpack::type::NIL);
  // A token of another type is a bad request; the connection stays.
  auto wrong = decode_one(raw_frame(array(0, 6, "KV.Range", array(map(), map("token", 5)))));
  REQUIRE(std::holds_alternative<FrameError>(wrong));
  CHECK(std::get<FrameError>(wrong).error.message ==
        "revkv: bad request: params[1].token: expected str");
  CHECK_FALSE(std::get<FrameError>(wrong).close);
}

TEST_CASE("the metadata map's forwarded mark", "[frame]") {
  auto decode_one = [](const std::string& bytes) {
    FrameDecoder d;
    d.feed(bytes);
    auto f = d.next();
    REQUIRE(f);
    return std::move(*f);
  };
  // Absent, nil or false: not marked (a client's request).
  CHECK_FALSE(std::get<RequestFrame>(decode_one(request(1, "KV.Put", ""))).forwarded);
  auto nil = decode_one(raw_frame(array(0, 2, "KV.Put", array(map(), map("forwarded", Nil{})))));
  CHECK_FALSE(std::get<RequestFrame>(nil).forwarded);
  auto no = decode_one(raw_frame(array(0, 3, "KV.Put", array(map(), map("forwarded", false)))));
  CHECK_FALSE(std::get<RequestFrame>(no).forwarded);
  // true, beside a token or alone.
  auto both = decode_one(
      raw_frame(array(0, 4, "KV.Put", array(map(), map("token", "t.1", "forwarded", true)))));
  CHECK(std::get<RequestFrame>(both).forwarded);
  CHECK(std::get<RequestFrame>(both).token == std::optional<std::string>("t.1"));
  // The writer: the mark with and without a token and a body.
  for (auto token : {std::optional<std::string_view>{}, std::optional<std::string_view>{"t.2"}}) {
    for (std::string body : {std::string(), map("key", Bin{"k"}).bytes}) {
      msgpack::sbuffer sb;
      write_request(sb, 5, "KV.Range", body, token, true);
      auto written = decode_one(std::string(sb.data(), sb.size()));
      REQUIRE(std::holds_alternative<RequestFrame>(written));
      const auto& frame = std::get<RequestFrame>(written);
      CHECK(frame.forwarded);
      CHECK(frame.token.has_value() == token.has_value());
      CHECK(frame.body.type == (body.empty() ? msgpack::type::NIL : msgpack::type::MAP));
    }
  }
  // Another type is a bad request; the connection stays.
  auto wrong = decode_one(raw_frame(array(0, 6, "KV.Put", array(map(), map("forwarded", 1)))));
  REQUIRE(std::holds_alternative<FrameError>(wrong));
  CHECK(std::get<FrameError>(wrong).error.message ==
        "revkv: bad request: params[1].forwarded: expected bool");
  CHECK_FALSE(std::get<FrameError>(wrong).close);
}

TEST_CASE("responses and notifications from a client are ignored", "[frame]") {
  std::string bytes = raw_frame(array(1, 9, Nil{}, map())) +
                      raw_frame(array(2, "Watch.Watch", array(map()))) + raw_frame(array(2)) +
                      request(10, "KV.Range", "");
  CHECK(decode_all(bytes) == std::vector<std::string>{"req 10 KV.Range \xc0"});
}

TEST_CASE("malformed frames are answered with code 3 and close the stream", "[frame]") {
  const std::string closing = " 3 revkv: bad request: malformed frame close";
  CHECK(describe(only_error("\x01")) == "err 0" + closing);              // not an array
  CHECK(describe(only_error(bytes("\xc1"))) == "err 0" + closing);       // reserved byte
  CHECK(describe(only_error(raw_frame(array()))) == "err 0" + closing);  // []
  CHECK(describe(only_error(raw_frame(array(3, 1, "x", array())))) == "err 0" + closing);
  CHECK(describe(only_error(raw_frame(array(0, 7, 5, array())))) == "err 7" + closing);
  CHECK(describe(only_error(raw_frame(array(0, 7, "KV.Put", map())))) == "err 7" + closing);
  CHECK(describe(only_error(raw_frame(array(0, 7, "KV.Put")))) == "err 7" + closing);
  CHECK(describe(only_error(raw_frame(array(0, -1, "KV.Put", array())))) == "err 0" + closing);
  CHECK(describe(only_error(raw_frame(array(0, uint64_t{1} << 32, "KV.Put", array())))) ==
        "err 0" + closing);
  // A reserved byte inside a request: the msgid was already readable.
  CHECK(describe(only_error(bytes("\x94\x00\x2a\xc1"))) == "err 42" + closing);

  FrameDecoder d;
  d.feed(bytes("\x94\x00\x2a\xc1") + request(1, "KV.Range", ""));
  auto f = d.next();
  REQUIRE(f);
  CHECK(std::get<FrameError>(*f).close);
  CHECK(d.closed());
  CHECK_FALSE(d.next());  // nothing after the bad frame is served
  d.feed(request(2, "KV.Range", ""));
  CHECK_FALSE(d.next());
  CHECK(d.buffered() == 0);
}

TEST_CASE("nesting deeper than the limit is malformed, without recursion", "[frame]") {
  std::string bomb = bytes("\x94\x00\x01\xa1x") + std::string(100000, '\x91');
  CHECK(describe(only_error(bomb)) == "err 1 3 revkv: bad request: malformed frame close");
}

TEST_CASE("a frame beyond max_request_bytes + slack is refused before it is buffered", "[frame]") {
  FrameLimits limits;
  limits.max_request_bytes = 1000;
  limits.slack_bytes = 512;

  // Declares a 4 GiB str: refused from its header alone.
  FrameDecoder d(limits);
  d.feed(bytes("\x94\x00\xcd\x01\x00\xa6KV.Put\x91\x81\xa3key\xdb\xff\xff\xff\xff"));
  auto f = d.next();
  REQUIRE(f);
  CHECK(describe(*f) == "err 256 3 etcdserver: request is too large close");
  CHECK(d.closed());
  CHECK(d.buffered() == 0);

  // Many small elements, fed in pieces: refused as soon as the bound is crossed.
  FrameDecoder d2(limits);
  d2.feed(bytes("\x94\x00\x05\xa6KV.Put\x91\xdd\x00\x10\x00\x00"));
  std::size_t fed = 0;
  std::optional<Frame> f2;
  while (!f2 && fed < 100000) {
    d2.feed(std::string(100, '\xc0'));
    fed += 100;
    f2 = d2.next();
  }
  REQUIRE(f2);
  CHECK(describe(*f2) == "err 5 3 etcdserver: request is too large close");
  CHECK(fed <= limits.max_frame_bytes() + 100);
}

TEST_CASE("params over max_request_bytes within the slack: error, connection kept", "[frame]") {
  FrameLimits limits;
  limits.max_request_bytes = 1000;
  limits.slack_bytes = 512;
  storage::PutRequest big{"k", std::string(1200, 'x'), 0, false, false, false};
  storage::PutRequest small{"k", std::string(900, 'x'), 0, false, false, false};
  auto out = decode_all(
      request(1, "KV.Put", encode_to_string(big)) + request(2, "KV.Put", encode_to_string(small)),
      limits);
  REQUIRE(out.size() == 2);
  CHECK(out[0] == "err 1 3 etcdserver: request is too large keep");
  CHECK(out[1].rfind("req 2 KV.Put ", 0) == 0);

  // Too many declared elements within the byte bound: the same answer.
  limits.max_elements = 100;
  msgpack::sbuffer sb;
  Packer pk(sb);
  pk.pack_map(200);
  for (int i = 0; i < 200; ++i) {
    pk.pack(i);
    pk.pack_nil();
  }
  auto many = decode_all(
      request(3, "KV.Put", std::string(sb.data(), sb.size())) + request(4, "KV.Range", ""), limits);
  CHECK(many == std::vector<std::string>{"err 3 3 etcdserver: request is too large keep",
                                         "req 4 KV.Range \xc0"});
}

TEST_CASE("pipelined frames split at every byte boundary decode identically", "[frame]") {
  storage::TxnRequest txn;
  txn.success.push_back(storage::RequestOp{storage::PutRequest{"a", "b", 0, true, false, false}});
  std::string stream =
      request(1, "KV.Put", encode_to_string(storage::PutRequest{"k", "v"})) +
      raw_frame(array(2, "Watch.Watch", array(map()))) +
      request(2, "KV.Txn", encode_to_string(txn)) + request(3, "Maintenance.Status", "") +
      raw_frame(array(0, 4, "KV.Range", array(Nil{}))) +
      raw_frame(array(0, 5, "KV.Put", array(7))) +
      request(6, "KV.Range",
              encode_to_string(storage::RangeRequest{std::string(300, 'r'), "s", 1, 2, 1, 1, true,
                                                     false, false, 0, 0, 0, 0}));
  auto expected = decode_all(stream);
  REQUIRE(expected.size() == 6);

  for (std::size_t cut = 0; cut <= stream.size(); ++cut) {
    FrameDecoder d;
    d.feed(std::string_view(stream).substr(0, cut));
    auto got = drain(d);
    d.feed(std::string_view(stream).substr(cut));
    auto rest = drain(d);
    got.insert(got.end(), rest.begin(), rest.end());
    INFO("cut at " << cut);
    REQUIRE(got == expected);
    CHECK(d.buffered() == 0);
  }

  FrameDecoder one_by_one;
  std::vector<std::string> got;
  for (char c : stream) {
    one_by_one.feed(std::string_view(&c, 1));
    auto part = drain(one_by_one);
    got.insert(got.end(), part.begin(), part.end());
  }
  CHECK(got == expected);
}

TEST_CASE("64 nested txns pass the frame limits and decode", "[frame]") {
  Raw inner = map("success", array(map("request_range", map("key", "k"))));
  for (int i = 0; i < kMaxTxnDepth; ++i)
    inner = map("success", array(map("request_txn", inner)));
  auto frames = FrameDecoder();
  frames.feed(request(1, "KV.Txn", inner.bytes));
  auto f = frames.next();
  REQUIRE(f);
  auto& r = std::get<RequestFrame>(*f);
  CHECK(decode_body<storage::TxnRequest>(r.body).ok());
}

TEST_CASE("hostile bytes never crash and never allocate by a declared length", "[frame]") {
  const std::vector<std::string> hostile = {
      bytes("\xdd\x7f\xff\xff\xff"),                       // array32 of 2^31
      bytes("\xdf\xff\xff\xff\xff"),                       // map32 of 2^32
      bytes("\x94\x00\x01\xa1x\x91\xdd\xff\xff\xff\xff"),  // inside the params
      [] {
        std::string s = bytes("\x94\x00\x01\xa1x\x91");
        for (int i = 0; i < 200; ++i)
          s += bytes("\xdc\xff\xff");
        return s;
      }(),
      bytes("\x94\x00\x01\xa1x\x91\xc6\x7f\xff\xff\xff"),      // bin32 2 GiB
      bytes("\x94\x00\x01\xa1x\x91\xc9\x7f\xff\xff\xff\x01"),  // ext32
      bytes("\x94\x00\x01\xdb\x00\x10\x00\x00"
            "abc"),  // truncated str32
  };
  long before = peak_rss_kib();
  for (const auto& h : hostile) {
    FrameDecoder d;
    d.feed(h);
    auto f = d.next();  // an error, or waiting for bytes that are not buffered yet
    if (f) CHECK(std::holds_alternative<FrameError>(*f));
    CHECK(d.buffered() <= h.size());
  }
  CHECK(peak_rss_kib() - before < 64 * 1024);
}

TEST_CASE("random and mutated input is handled without crashing", "[frame][fuzz]") {
  std::mt19937 rng(12345);
  storage::TxnRequest txn;
  txn.compare.push_back(storage::Compare{0, 0, "k", "l", storage::CompareTarget::mod, 3, ""});
  txn.success.push_back(storage::RequestOp{storage::PutRequest{"a", "b", 0, true, false, false}});
  storage::RangeRequest range;
  range.key = "x";
  std::string valid =
      request(1, "KV.Txn", encode_to_string(txn)) + request(2, "KV.Range", encode_to_string(range));
  FrameLimits limits;
  limits.max_request_bytes = 4096;
  limits.slack_bytes = 1024;
  long before = peak_rss_kib();
  for (int round = 0; round < 3000; ++round) {
    std::string input;
    switch (round % 3) {
      case 0: {  // random bytes
        input.resize(rng() % 64);
        for (auto& c : input)
          c = static_cast<char>(rng());
        break;
      }
      case 1: {  // a valid stream with a few bytes flipped
        input = valid;
        for (int i = 0; i < 3; ++i)
          input[rng() % input.size()] = static_cast<char>(rng());
        break;
      }
      default:  // truncated
        input = valid.substr(0, rng() % valid.size());
    }
    FrameDecoder d(limits);
    std::size_t at = 0;
    while (at < input.size()) {
      std::size_t n = 1 + rng() % 17;
      d.feed(std::string_view(input).substr(at, n));
      at += n;
      while (auto f = d.next()) {
        // Whatever decodes must also go through the codec without crashing.
        if (auto* r = std::get_if<RequestFrame>(&*f)) {
          (void)decode_body<storage::TxnRequest>(r->body);
          (void)decode_body<storage::RangeRequest>(r->body);
          (void)decode_body<WatchRequest>(r->body);
        }
      }
      CHECK(d.buffered() <= limits.max_frame_bytes() + 17);
    }
  }
  CHECK(peak_rss_kib() - before < 64 * 1024);
}

TEST_CASE("frame writers produce MessagePack-RPC arrays", "[frame]") {
  msgpack::sbuffer sb;
  write_result(sb, 7, encode_to_string(LeaseRevokeResponse{}));
  write_error(sb, 8, unknown_method("Nope"));
  write_notification(sb, "Watch.Watch", encode_to_string(WatchResponse{}));
  std::size_t off = 0;
  auto r = msgpack::unpack(sb.data(), sb.size(), off);
  auto e = msgpack::unpack(sb.data(), sb.size(), off);
  auto n = msgpack::unpack(sb.data(), sb.size(), off);
  CHECK(off == sb.size());

  const auto& ra = r.get().via.array;
  REQUIRE(ra.size == 4);
  CHECK(ra.ptr[0].as<int>() == 1);
  CHECK(ra.ptr[1].as<uint32_t>() == 7);
  CHECK(ra.ptr[2].is_nil());
  CHECK(ra.ptr[3].type == msgpack::type::MAP);

  const auto& ea = e.get().via.array;
  REQUIRE(ea.size == 4);
  CHECK(ea.ptr[1].as<uint32_t>() == 8);
  auto err = decode_error(ea.ptr[2]);
  REQUIRE(err);
  CHECK(*err == WireError{12, "revkv: unknown method Nope"});
  CHECK(ea.ptr[3].is_nil());

  const auto& na = n.get().via.array;
  REQUIRE(na.size == 3);
  CHECK(na.ptr[0].as<int>() == 2);
  CHECK(na.ptr[1].as<std::string>() == "Watch.Watch");
  CHECK(na.ptr[2].via.array.size == 1);
}

// The bytes of docs/PROTOCOL.md "Worked example", captured from a running revkvd: the
// decoder must read the requests and the encoders must write exactly the responses.
std::string from_hex(std::string_view hex) {
  std::string out;
  int high = -1;
  for (char c : hex) {
    if (c == ' ') continue;
    int v = c >= 'a' ? c - 'a' + 10 : c - '0';
    if (high < 0) {
      high = v;
    } else {
      out.push_back(static_cast<char>(high * 16 + v));
      high = -1;
    }
  }
  return out;
}

TEST_CASE("the worked example of docs/PROTOCOL.md", "[frame]") {
  const std::string put_request = from_hex(
      "94 00 01 a6 4b 56 2e 50 75 74 91 82 a3 6b 65 79 c4 03 66 6f 6f a5 76 61"
      "6c 75 65 c4 03 62 61 72");
  const std::string put_response = from_hex(
      "94 01 01 c0 81 a6 68 65 61 64 65 72 84 aa 63 6c 75 73 74 65 72 5f 69 64"
      "cf 00 00 00 72 65 76 6b 76 a9 6d 65 6d 62 65 72 5f 69 64 ce 6e 6f 64 65"
      "a8 72 65 76 69 73 69 6f 6e 02 a9 72 61 66 74 5f 74 65 72 6d 01");
  const std::string range_request =
      from_hex("94 00 02 a8 4b 56 2e 52 61 6e 67 65 91 81 a3 6b 65 79 c4 03 66 6f 6f");
  const std::string range_response = from_hex(
      "94 01 02 c0 84 a6 68 65 61 64 65 72 84 aa 63 6c 75 73 74 65 72 5f 69 64"
      "cf 00 00 00 72 65 76 6b 76 a9 6d 65 6d 62 65 72 5f 69 64 ce 6e 6f 64 65"
      "a8 72 65 76 69 73 69 6f 6e 02 a9 72 61 66 74 5f 74 65 72 6d 01 a3 6b 76"
      "73 91 86 a3 6b 65 79 c4 03 66 6f 6f af 63 72 65 61 74 65 5f 72 65 76 69"
      "73 69 6f 6e 02 ac 6d 6f 64 5f 72 65 76 69 73 69 6f 6e 02 a7 76 65 72 73"
      "69 6f 6e 01 a5 76 61 6c 75 65 c4 03 62 61 72 a5 6c 65 61 73 65 00 a4 6d"
      "6f 72 65 c2 a5 63 6f 75 6e 74 01");
  const std::string bad_request = from_hex("94 00 03 a6 4b 56 2e 50 75 74 91 81 a3 6b 65 79 c4 00");
  const std::string bad_response = from_hex(
      "94 01 03 82 a4 63 6f 64 65 03 a7 6d 65 73 73 61 67 65 bf 65 74 63 64 73"
      "65 72 76 65 72 3a 20 6b 65 79 20 69 73 20 6e 6f 74 20 70 72 6f 76 69 64"
      "65 64 c0");
  // The node's header fields (actors/node_context.hpp) at revision 2.
  const ResponseHeader header{0x7265766b76ull, 0x6e6f6465ull, 2, 1};

  FrameDecoder d;
  d.feed(put_request + range_request + bad_request);
  auto put = d.next();
  auto range = d.next();
  auto bad = d.next();
  REQUIRE(put);
  REQUIRE(range);
  REQUIRE(bad);
  CHECK_FALSE(d.next());

  auto& p = std::get<RequestFrame>(*put);
  CHECK(p.msgid == 1);
  CHECK(p.method == "KV.Put");
  auto put_body = decode_body<storage::PutRequest>(p.body);
  REQUIRE(put_body.ok());
  CHECK(put_body.value() == storage::PutRequest{"foo", "bar", 0, false, false, false});

  auto& r = std::get<RequestFrame>(*range);
  CHECK(r.msgid == 2);
  CHECK(r.method == "KV.Range");
  auto range_body = decode_body<storage::RangeRequest>(r.body);
  REQUIRE(range_body.ok());
  storage::RangeRequest expected_range;
  expected_range.key = "foo";
  CHECK(range_body.value() == expected_range);

  auto& b = std::get<RequestFrame>(*bad);
  CHECK(b.msgid == 3);
  auto bad_body = decode_body<storage::PutRequest>(b.body);
  REQUIRE(bad_body.ok());
  CHECK(bad_body.value().key.empty());

  auto bytes_of = [](const msgpack::sbuffer& sb) { return std::string(sb.data(), sb.size()); };
  msgpack::sbuffer put_out;
  write_result(put_out, 1, encode_kv_to_string(header, storage::PutResponse{2, std::nullopt}));
  CHECK(bytes_of(put_out) == put_response);

  msgpack::sbuffer range_out;
  storage::RangeResponse kvs{2, {storage::KeyValue{"foo", 2, 2, 1, "bar", 0}}, false, 1};
  write_result(range_out, 2, encode_kv_to_string(header, kvs));
  CHECK(bytes_of(range_out) == range_response);

  msgpack::sbuffer bad_out;
  write_error(bad_out, 3, to_wire_error(storage::Errc::empty_key));
  CHECK(bytes_of(bad_out) == bad_response);
}

}  // namespace
}  // namespace revkv::protocol
