// The gRPC door's Range answers are written by hand (etcdapi/range_response_bytes.hpp): the
// bytes must be exactly what protobuf writes for the same RangeResponse, and parse back to
// it, for random pages and for the edges of the wire format (zero fields left out, lengths
// and values past one varint byte, negative numbers, an empty page, an all-zero header).

#include "etcdapi/range_response_bytes.hpp"

#include "etcdapi/convert.hpp"

#include <catch2/catch.hpp>

#include <etcdserverpb/rpc.pb.h>
#include <random>
#include <string>
#include <vector>

namespace revkv::etcdapi {
namespace {

std::string protobuf_bytes(const storage::RangeResponse& in, const protocol::ResponseHeader& h) {
  etcdserverpb::RangeResponse proto;
  to_proto(in, h, proto);
  std::string out;
  REQUIRE(proto.SerializeToString(&out));
  return out;
}

void check_same(const storage::RangeResponse& in, const protocol::ResponseHeader& h) {
  const std::string ours = range_response_bytes(in, h);
  CHECK(ours == protobuf_bytes(in, h));
  etcdserverpb::RangeResponse parsed;
  REQUIRE(parsed.ParseFromString(ours));
  CHECK(parsed.kvs_size() == static_cast<int>(in.kvs.size()));
  CHECK(parsed.count() == in.count);
  CHECK(parsed.more() == in.more);
  CHECK(parsed.header().revision() == h.revision);
  // And as a gRPC message: one slice holding the same bytes.
  auto buffer = to_byte_buffer(ours);
  std::vector<grpc::Slice> slices;
  REQUIRE(buffer.Dump(&slices).ok());
  std::string back;
  for (const auto& s : slices)
    back.append(reinterpret_cast<const char*>(s.begin()), s.size());
  CHECK(back == ours);
}

storage::KeyValue kv(std::string key, std::string value, int64_t create, int64_t mod,
                     int64_t version, int64_t lease) {
  storage::KeyValue out;
  out.key = std::move(key);
  out.value = std::move(value);
  out.create_revision = create;
  out.mod_revision = mod;
  out.version = version;
  out.lease = lease;
  return out;
}

}  // namespace

TEST_CASE(
    "range response bytes: the edges of the wire format are written as protobuf writes "
    "them",
    "[etcdapi][range]") {
  storage::RangeResponse empty;
  check_same(empty, protocol::ResponseHeader{});
  check_same(empty, protocol::ResponseHeader{~uint64_t{0}, 1, INT64_MAX, 127});

  storage::RangeResponse r;
  r.kvs.push_back(kv("a", "", 1, 1, 1, 0));                    // empty value: left out
  r.kvs.push_back(kv(std::string(1, '\0'), "v", 0, 0, 0, 0));  // zero revisions: left out
  r.kvs.push_back(kv(std::string(127, 'k'), std::string(128, 'v'), 127, 128, 16383, 16384));
  r.kvs.push_back(kv("neg", std::string(70000, 'x'), -1, INT64_MIN, -5, -7));
  r.kvs.push_back(kv("\xff\xfe", std::string(1, '\x80'), INT64_MAX, INT64_MAX, 1, INT64_MAX));
  r.more = true;
  r.count = 300;
  check_same(r, protocol::ResponseHeader{14841639068965178418ull, 10276657743932975437ull, 129, 2});
  r.count = -1;
  r.more = false;
  check_same(r, protocol::ResponseHeader{1, 0, -3, 0});
}

TEST_CASE("range response bytes: random pages are written as protobuf writes them",
          "[etcdapi][range]") {
  std::mt19937_64 rng(20261205);
  auto pick = [&](uint64_t n) { return std::uniform_int_distribution<uint64_t>(0, n - 1)(rng); };
  // Mostly small numbers, sometimes any 64-bit pattern.
  auto number = [&]() -> int64_t {
    if (pick(4) == 0) return static_cast<int64_t>(rng());
    return static_cast<int64_t>(pick(1u << (pick(40) + 1)));
  };
  for (int round = 0; round < 300; ++round) {
    CAPTURE(round);
    storage::RangeResponse r;
    for (uint64_t n = pick(40); n > 0; --n) {
      std::string key(1 + pick(300), '\0');
      for (auto& c : key)
        c = static_cast<char>(pick(256));
      r.kvs.push_back(kv(std::move(key), std::string(pick(3) == 0 ? 0 : pick(5000), 'v'), number(),
                         number(), number(), pick(3) == 0 ? number() : 0));
    }
    r.more = pick(2) == 0;
    r.count = pick(5) == 0 ? 0 : number();
    protocol::ResponseHeader h{rng(), pick(2) == 0 ? 0 : rng(), number(), pick(3)};
    check_same(r, h);
  }
}

}  // namespace revkv::etcdapi
