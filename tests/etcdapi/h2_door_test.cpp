// revkv's own HTTP/2 door for gRPC clients (etcdapi/h2_door.hpp, revkvd --grpc-engine
// nghttp2, the default): gRPC's framing helpers, and what the door answers to requests no
// gRPC library would send, as raw HTTP/2 (tests/etcdapi/h2_client.hpp). Everything a gRPC
// client does (etcdctl, python3-etcd3, the stubs, revkv-bench) is tested through the door
// by the other suites; tests/etcdapi/random_two_doors_test.cpp compares both engines.

#include "etcdapi/grpc_compression.hpp"
#include "etcdapi/grpc_wire.hpp"
#include "etcdapi/h2_loop.hpp"
#include "etcdapi/h2_unary_call.hpp"
#include "tests/etcdapi/etcd_process.hpp"
#include "tests/etcdapi/h2_client.hpp"
#include "tests/monitoring/http_client.hpp"
#include "tests/monitoring/scrape.hpp"
#include "tests/node/node_process.hpp"
#include "tests/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <csignal>
#include <etcdserverpb/rpc.grpc.pb.h>
#include <etcdserverpb/rpc.pb.h>
#include <future>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <memory>
#include <string>
#include <vector>
#include <zlib.h>

namespace revkv {
namespace {

using namespace std::chrono_literals;
using etcdapi::GrpcEncoding;
using etcdapi::GrpcMessage;
using etcdapi::GrpcMessageReader;
using testing::H2Client;

// `bytes` compressed as gRPC's gzip or deflate (zlib's format) encoding writes a message.
std::string compress(GrpcEncoding encoding, const std::string& bytes) {
  z_stream z{};
  const int window_bits = encoding == GrpcEncoding::gzip ? 15 + 16 : 15;
  REQUIRE(deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY) ==
          Z_OK);
  std::string out(deflateBound(&z, bytes.size()), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
  z.avail_in = static_cast<uInt>(bytes.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&z, Z_FINISH);
  out.resize(out.size() - z.avail_out);
  deflateEnd(&z);
  REQUIRE(rc == Z_STREAM_END);
  return out;
}

// A message as a client writes it compressed: flag 1, then the compressed bytes' length.
std::string frame_compressed(const std::string& compressed) {
  std::string framed = etcdapi::frame_grpc_message(compressed);
  framed[0] = 1;
  return framed;
}

TEST_CASE("h2 door: gRPC messages split across DATA frames are put back together",
          "[etcdapi][h2][unit]") {
  const std::string framed = etcdapi::frame_grpc_message("hello") +
                             etcdapi::frame_grpc_message("") +
                             etcdapi::frame_grpc_message(std::string(70000, 'x'));
  // Every way of cutting the bytes in two gives the same three messages.
  for (size_t cut : {size_t{0}, size_t{1}, size_t{4}, size_t{5}, size_t{9}, size_t{10}, size_t{12},
                     size_t{15}, size_t{1000}, framed.size() - 1}) {
    GrpcMessageReader reader(1 << 20);
    std::vector<GrpcMessage> out;
    CHECK(reader.feed(std::string_view(framed).substr(0, cut), out) ==
          GrpcMessageReader::Result::ok);
    CHECK(reader.feed(std::string_view(framed).substr(cut), out) == GrpcMessageReader::Result::ok);
    REQUIRE(out.size() == 3);
    CHECK(out[0].bytes == "hello");
    CHECK(out[1].bytes.empty());
    CHECK(out[2].bytes == std::string(70000, 'x'));
    CHECK_FALSE(out[2].compressed);
    CHECK_FALSE(reader.partial());
  }
  GrpcMessageReader reader(100);
  std::vector<GrpcMessage> out;
  // Refused from its prefix alone: the 1 GiB it announces is never held.
  std::string huge("\0\x40\0\0\0", 5);
  CHECK(reader.feed(huge, out) == GrpcMessageReader::Result::too_large);
  CHECK(reader.refused_length() == (1u << 30));
  CHECK(reader.feed("more", out) == GrpcMessageReader::Result::too_large);
  GrpcMessageReader compressed(100);
  CHECK(compressed.feed(std::string("\x01\0\0\0\x01z", 6), out) ==
        GrpcMessageReader::Result::compressed);
  CHECK(out.empty());
  // On a stream that named an encoding the flag is 0 or 1; anything else is still refused.
  GrpcMessageReader encoded(100);
  encoded.allow_compressed();
  CHECK(encoded.feed(std::string("\x01\0\0\0\x01z\0\0\0\0\x01y", 12), out) ==
        GrpcMessageReader::Result::ok);
  REQUIRE(out.size() == 2);
  CHECK((out[0].compressed && out[0].bytes == "z"));
  CHECK((!out[1].compressed && out[1].bytes == "y"));
  CHECK(encoded.feed(std::string("\x02\0\0\0\x01z", 6), out) ==
        GrpcMessageReader::Result::compressed);
  out.clear();
  GrpcMessageReader cut(100);
  CHECK(cut.feed(std::string("\0\0\0\0\x05"
                             "ab",
                             7),
                 out) == GrpcMessageReader::Result::ok);
  CHECK(cut.partial());
}

TEST_CASE("h2 door: gzip and deflate messages inflate, within the limit, or get grpc-go's errors",
          "[etcdapi][h2][unit]") {
  using etcdapi::grpc_encoding;
  using etcdapi::inflate_grpc_message;
  CHECK(grpc_encoding("gzip") == GrpcEncoding::gzip);
  CHECK(grpc_encoding("deflate") == GrpcEncoding::deflate);
  CHECK(grpc_encoding("identity") == GrpcEncoding::identity);
  CHECK_FALSE(grpc_encoding("snappy").has_value());
  CHECK_FALSE(grpc_encoding("GZIP").has_value());

  const std::string text = "a put's value, " + std::string(100000, 'v');
  for (auto encoding : {GrpcEncoding::gzip, GrpcEncoding::deflate}) {
    auto packed = compress(encoding, text);
    CHECK(packed.size() < text.size() / 50);
    auto inflated = inflate_grpc_message(encoding, packed, 1 << 20);
    CHECK(inflated.code == 0);
    CHECK(inflated.bytes == text);
    // Exactly at the limit is within it; one byte less is not.
    CHECK(inflate_grpc_message(encoding, packed, text.size()).code == 0);
    auto over = inflate_grpc_message(encoding, packed, text.size() - 1);
    CHECK(over.code == 8);
    CHECK(over.message == "grpc: received message after decompression larger than max (" +
                              std::to_string(text.size()) + " vs. " +
                              std::to_string(text.size() - 1) + ")");
    // Cut short, or followed by more bytes: Internal.
    auto cut = inflate_grpc_message(encoding, packed.substr(0, packed.size() / 2), 1 << 20);
    CHECK(cut.code == 13);
    CHECK(cut.message == "grpc: failed to decompress the received message: unexpected EOF");
    CHECK(inflate_grpc_message(encoding, packed + "x", 1 << 20).code == 13);
    CHECK(inflate_grpc_message(encoding, "", 1 << 20).code == 13);
  }
  // The other format's bytes are not this one's.
  CHECK(inflate_grpc_message(GrpcEncoding::gzip, compress(GrpcEncoding::deflate, text), 1 << 20)
            .code == 13);
  CHECK(inflate_grpc_message(GrpcEncoding::deflate, "not zlib at all", 1 << 20).code == 13);
  // A bomb: 64 MiB of zeros in about 64 KiB stops at the limit, 1 MiB + 1 bytes inflated.
  auto bomb = compress(GrpcEncoding::gzip, std::string(64u << 20, '\0'));
  CHECK(bomb.size() < (128u << 10));
  auto refused = inflate_grpc_message(GrpcEncoding::gzip, bomb, 1u << 20);
  CHECK(refused.code == 8);
  CHECK(refused.message ==
        "grpc: received message after decompression larger than max (1048577 vs. 1048576)");
}

TEST_CASE("h2 door: grpc-timeout, grpc-message and the headers relayed as metadata",
          "[etcdapi][h2][unit]") {
  using etcdapi::parse_grpc_timeout;
  CHECK(parse_grpc_timeout("5S") == std::chrono::seconds(5));
  CHECK(parse_grpc_timeout("100m") == std::chrono::milliseconds(100));
  CHECK(parse_grpc_timeout("2H") == std::chrono::hours(2));
  CHECK(parse_grpc_timeout("7M") == std::chrono::minutes(7));
  CHECK(parse_grpc_timeout("99999999u") == std::chrono::microseconds(99999999));
  // Past what int64 nanoseconds hold: a century.
  CHECK(parse_grpc_timeout("99999999H") == std::chrono::hours(24 * 365 * 100));
  CHECK(parse_grpc_timeout("1n") == std::chrono::nanoseconds(1));
  CHECK_FALSE(parse_grpc_timeout("123456789S"));  // nine digits: gRPC allows eight
  CHECK_FALSE(parse_grpc_timeout("S"));
  CHECK_FALSE(parse_grpc_timeout("5s"));
  CHECK_FALSE(parse_grpc_timeout("-5S"));
  CHECK(etcdapi::percent_encode_grpc_message("etcdserver: key not found") ==
        "etcdserver: key not found");
  CHECK(etcdapi::percent_encode_grpc_message("100% \xc3\xa9\n") == "100%25 %C3%A9%0A");

  using etcdapi::h2::forwarded_as_metadata;
  CHECK(forwarded_as_metadata("token", "abc.DEF-1"));
  CHECK(forwarded_as_metadata("authorization", "Bearer x y"));
  CHECK_FALSE(forwarded_as_metadata(":path", "/x"));
  CHECK_FALSE(forwarded_as_metadata("grpc-timeout", "1S"));
  CHECK_FALSE(forwarded_as_metadata("te", "trailers"));
  CHECK_FALSE(forwarded_as_metadata("content-type", "application/grpc"));
  CHECK_FALSE(forwarded_as_metadata("trace-bin", "AAAA"));
  // What the door tells gRPC's server in-process is never taken from a client.
  CHECK_FALSE(forwarded_as_metadata("revkv-relayed-fd", "7"));
  CHECK_FALSE(forwarded_as_metadata("revkv-anything", "x"));
  // What gRPC's library would abort on is dropped.
  CHECK_FALSE(forwarded_as_metadata("token", std::string("a\0b", 3)));
  CHECK_FALSE(forwarded_as_metadata("token", "caf\xc3\xa9"));
  CHECK_FALSE(forwarded_as_metadata("token", "tab\there"));
  CHECK_FALSE(forwarded_as_metadata("Token", "x"));
  CHECK_FALSE(forwarded_as_metadata("to ken", "x"));
  CHECK_FALSE(forwarded_as_metadata("", "x"));
}

struct Node {
  testing::TempDir dir;
  testing::NodeProcess process{dir.sub("node"), {"--shards", "2", "--sync", "never"}};
  H2Client client{process.grpc_port()};
};

// A Range of `key` over `client`, served OK with one message: its response.
etcdserverpb::RangeResponse range_of(H2Client& client, const std::string& key) {
  etcdserverpb::RangeRequest range;
  range.set_key(key);
  auto got = client.call(H2Client::grpc_headers("/etcdserverpb.KV/Range"),
                         etcdapi::frame_grpc_message(range.SerializeAsString()));
  CHECK(got.grpc_status() == 0);
  REQUIRE(got.messages().size() == 1);
  etcdserverpb::RangeResponse response;
  REQUIRE(response.ParseFromString(got.messages()[0]));
  return response;
}

std::string put_request(const std::string& key, const std::string& value) {
  etcdserverpb::PutRequest put;
  put.set_key(key);
  put.set_value(value);
  return etcdapi::frame_grpc_message(put.SerializeAsString());
}

TEST_CASE("h2 door: the unary methods it serves itself, by path", "[etcdapi][h2]") {
  using etcdapi::h2::served_method;
  using etcdapi::h2::UnaryMethod;
  CHECK(served_method("/etcdserverpb.KV/Range") == UnaryMethod::range);
  CHECK(served_method("/etcdserverpb.KV/Compact") == UnaryMethod::compact);
  CHECK(served_method("/etcdserverpb.Lease/LeaseGrant") == UnaryMethod::lease_grant);
  CHECK(served_method("/etcdserverpb.Lease/LeaseRevoke") == UnaryMethod::lease_revoke);
  CHECK(served_method("/etcdserverpb.Lease/LeaseTimeToLive") == UnaryMethod::lease_time_to_live);
  CHECK(served_method("/etcdserverpb.Lease/LeaseLeases") == UnaryMethod::lease_leases);
  // Streams have handlers of their own; the other services are relayed.
  CHECK_FALSE(served_method("/etcdserverpb.Lease/LeaseKeepAlive"));
  CHECK_FALSE(served_method("/etcdserverpb.Watch/Watch"));
  CHECK_FALSE(served_method("/etcdserverpb.Maintenance/Status"));
  CHECK_FALSE(served_method("/etcdserverpb.KV/Nope"));
  CHECK_FALSE(served_method("/etcdserverpb.KV/Range/"));
  for (size_t i = 0; i < etcdapi::h2::kUnaryMethods.size(); ++i) {
    const auto& names = etcdapi::h2::kUnaryMethods[i];
    CHECK(names.path == "/" + std::string(names.service) + "/" + std::string(names.method));
    CHECK(served_method(names.path) == static_cast<UnaryMethod>(i));
  }
}

TEST_CASE(
    "h2 door: KV and Lease calls served by the door itself, the rest relayed to gRPC's "
    "services",
    "[etcdapi][h2][node]") {
  Node n;
  auto put = n.client.call(H2Client::grpc_headers("/etcdserverpb.KV/Put"), put_request("k", "v"));
  REQUIRE(put.complete);
  CHECK(put.http_status == 200);
  CHECK(put.headers["content-type"] == "application/grpc");
  CHECK(put.grpc_status() == 0);
  REQUIRE(put.messages().size() == 1);
  etcdserverpb::PutResponse put_response;
  REQUIRE(put_response.ParseFromString(put.messages()[0]));
  CHECK(put_response.header().revision() == 2);

  auto range_response = range_of(n.client, "k");
  REQUIRE(range_response.kvs_size() == 1);
  CHECK(range_response.kvs(0).value() == "v");

  // Served by the door too: a lease grant, and a revoke's etcd error.
  etcdserverpb::LeaseGrantRequest grant;
  grant.set_ttl(60);
  auto granted = n.client.call(H2Client::grpc_headers("/etcdserverpb.Lease/LeaseGrant"),
                               etcdapi::frame_grpc_message(grant.SerializeAsString()));
  CHECK(granted.grpc_status() == 0);
  REQUIRE(granted.messages().size() == 1);
  etcdserverpb::LeaseRevokeRequest revoke;
  revoke.set_id(12345);
  auto revoked = n.client.call(H2Client::grpc_headers("/etcdserverpb.Lease/LeaseRevoke"),
                               etcdapi::frame_grpc_message(revoke.SerializeAsString()));
  CHECK(revoked.grpc_status() == 5);  // NotFound
  CHECK(revoked.grpc_message() == "etcdserver: requested lease not found");
  // Relayed: Maintenance.Status (the Maintenance service), and an unknown method in
  // grpc-go's words.
  auto status = n.client.call(H2Client::grpc_headers("/etcdserverpb.Maintenance/Status"),
                              etcdapi::frame_grpc_message(""));
  CHECK(status.grpc_status() == 0);
  REQUIRE(status.messages().size() == 1);
  etcdserverpb::StatusResponse status_response;
  REQUIRE(status_response.ParseFromString(status.messages()[0]));
  CHECK(status_response.header().revision() == 2);
  auto unknown = n.client.call(H2Client::grpc_headers("/etcdserverpb.KV/Nope"),
                               etcdapi::frame_grpc_message(""));
  CHECK(unknown.grpc_status() == 12);
  CHECK(unknown.grpc_message() == "unknown method Nope for service etcdserverpb.KV");
  auto malformed =
      n.client.call(H2Client::grpc_headers("no-slash"), etcdapi::frame_grpc_message(""));
  CHECK(malformed.grpc_status() == 12);
  CHECK(malformed.grpc_message() == "malformed method name: \"no-slash\"");
}

TEST_CASE("h2 door: a unary call past its grpc-timeout is answered DeadlineExceeded",
          "[etcdapi][h2][node]") {
  Node n;
  auto with_timeout = [](const std::string& path, const std::string& timeout) {
    auto headers = H2Client::grpc_headers(path);
    headers.emplace_back("grpc-timeout", timeout);
    return headers;
  };
  // A deadline already passed when the request is read: not run.
  auto zero = n.client.call(with_timeout("/etcdserverpb.KV/Put", "0n"), put_request("z", "v"));
  REQUIRE(zero.complete);
  CHECK(zero.grpc_status() == 4);
  CHECK(zero.grpc_message() == "context deadline exceeded");
  CHECK(zero.messages().empty());
  CHECK(range_of(n.client, "z").kvs_size() == 0);

  // A request whose message comes after its deadline: the deadline ends the call, and the
  // message that follows runs nothing.
  const int32_t slow =
      n.client.open_stream(with_timeout("/etcdserverpb.KV/Put", "100m"), "", false);
  REQUIRE(n.client.pump_until([&] { return n.client.answer(slow).complete; }, 20s));
  CHECK(n.client.answer(slow).grpc_status() == 4);
  CHECK(n.client.answer(slow).grpc_message() == "context deadline exceeded");
  n.client.send_data(slow, put_request("late", "v"), true);
  CHECK(range_of(n.client, "late").kvs_size() == 0);
  CHECK_FALSE(n.client.broken());

  // Within its deadline a call is served as without one.
  auto timely = n.client.call(with_timeout("/etcdserverpb.KV/Put", "30S"), put_request("t", "v"));
  CHECK(timely.grpc_status() == 0);
  CHECK(range_of(n.client, "t").kvs_size() == 1);

  // A call the loop refused (a message announced over the limit) is counted once, however
  // long its client keeps the stream open: its deadline passing adds nothing.
  const std::string over_limit("\0\x10\0\0\0", 5);
  const int32_t refused =
      n.client.open_stream(with_timeout("/etcdserverpb.KV/Range", "100m"), over_limit, false);
  REQUIRE(n.client.pump_until([&] { return n.client.answer(refused).complete; }, 20s));
  CHECK(n.client.answer(refused).grpc_status() == 8);
  // A later deadline on the same connection (so the same loop's timers) passing shows the
  // first one has passed too.
  const int32_t later =
      n.client.open_stream(with_timeout("/etcdserverpb.KV/Range", "300m"), "", false);
  REQUIRE(n.client.pump_until([&] { return n.client.answer(later).complete; }, 20s));
  CHECK(n.client.answer(later).grpc_status() == 4);
  const auto metrics = testing::scrape_metrics(n.process.metrics_port());
  auto handled = [&](const std::string& code) {
    return testing::sample(
        metrics, testing::series("grpc_server_handled_total", {{"grpc_code", code},
                                                               {"grpc_method", "Range"},
                                                               {"grpc_service", "etcdserverpb.KV"},
                                                               {"grpc_type", "unary"}}));
  };
  CHECK(handled("ResourceExhausted") == 1);
  CHECK(handled("DeadlineExceeded") == 1);
}

TEST_CASE(
    "h2 door: a connection's reads go to the request path in turns, so a burst of them cannot "
    "run past its unsent-answer bound",
    "[etcdapi][h2][node][bad-input]") {
  Node n;
  H2Client writer(n.process.grpc_port());
  const std::string value(1000 * 1000, 'v');
  REQUIRE(writer.call(H2Client::grpc_headers("/etcdserverpb.KV/Put"), put_request("big", value))
              .grpc_status() == 0);
  auto scrape = [&] { return testing::scrape_metrics(n.process.metrics_port()); };
  auto ranges_run = [&](const std::string& metrics) {
    return testing::sample(metrics, "revkv_kv_operations_total{operation=\"range\"}");
  };
  auto ranges_handled = [&](const std::string& metrics, const std::string& code) {
    return testing::sample(
        metrics, testing::series("grpc_server_handled_total", {{"grpc_code", code},
                                                               {"grpc_method", "Range"},
                                                               {"grpc_service", "etcdserverpb.KV"},
                                                               {"grpc_type", "unary"}}));
  };
  const double before = ranges_run(scrape());
  REQUIRE(before >= 0);

  // 300 Ranges of the 1 MB value at once on a connection whose client reads no answer.
  constexpr int kReads = 300;
  etcdserverpb::RangeRequest range;
  range.set_key("big");
  const auto message = etcdapi::frame_grpc_message(range.SerializeAsString());
  std::vector<int32_t> streams;
  for (int i = 0; i < kReads; ++i) {
    streams.push_back(
        n.client.open_stream(H2Client::grpc_headers("/etcdserverpb.KV/Range"), message, true));
    n.client.hold_window(streams.back(), true);
  }
  std::string metrics;
  REQUIRE(n.client.pump_until(
      [&] {
        metrics = scrape();
        return std::max(0.0, ranges_handled(metrics, "OK")) +
                   std::max(0.0, ranges_handled(metrics, "ResourceExhausted")) >=
               kReads;
      },
      60s));
  INFO(metrics);
  // A read ran only if, when its turn came, the connection's unsent answers were within
  // their bound (8 MiB: 9 answers, less the bytes the client's windows took), and at most
  // 64 run at once: the rest were refused before they ran. Handed on all at once, every
  // one would have run (seen: 300).
  const double ran = ranges_run(metrics) - before;
  CHECK(ran >= 1);
  CHECK(ran <= 9 + 64 + 8);
  CHECK(ranges_handled(metrics, "ResourceExhausted") >= kReads - ran);
  // The other client was served throughout; the reader's answers come once it reads.
  CHECK(writer.call(H2Client::grpc_headers("/etcdserverpb.KV/Put"), put_request("k", "v"))
            .grpc_status() == 0);
  for (int32_t s : streams)
    n.client.hold_window(s, false);
  REQUIRE(n.client.pump_until(
      [&] {
        for (int32_t s : streams)
          if (!n.client.complete(s)) return false;
        return true;
      },
      60s));
  size_t answered = 0;
  for (int32_t s : streams) {
    const auto got = n.client.answer(s);
    if (got.grpc_status() != 0) {
      CHECK(got.grpc_status() == 8);
      CHECK(got.grpc_message() == "etcdserver: too many requests");
      continue;
    }
    ++answered;
    etcdserverpb::RangeResponse response;
    REQUIRE(got.messages().size() == 1);
    REQUIRE(response.ParseFromString(got.messages()[0]));
    REQUIRE(response.kvs_size() == 1);
    CHECK(response.kvs(0).value().size() == value.size());
  }
  CHECK(answered >= 1);
  CHECK(static_cast<double>(answered) <= ran);
  // Once its answers are taken, the connection reads as before.
  for (int i = 0; i < 100; ++i)
    CHECK(range_of(n.client, "big").kvs_size() == 1);

  // A stopping node answers the reads still waiting for their turn too, not only those
  // running: SIGTERM once the first of a new burst is answered.
  constexpr int kAtStop = 150;
  std::vector<int32_t> at_stop;
  for (int i = 0; i < kAtStop; ++i)
    at_stop.push_back(
        n.client.open_stream(H2Client::grpc_headers("/etcdserverpb.KV/Range"), message, true));
  REQUIRE(n.client.pump_until([&] { return n.client.complete(at_stop[0]); }, 60s));
  REQUIRE(::kill(n.process.pid(), SIGTERM) == 0);
  // (Reading fast enough matters: the stopping node gives its clients 2 s to read what it
  // sent before it closes their connections.)
  REQUIRE(n.client.pump_until(
      [&] {
        for (int32_t s : at_stop)
          if (!n.client.complete(s)) return n.client.broken();
        return true;
      },
      60s));
  // Each is answered whole: its range, or `too many requests` if it came while the
  // client had not yet read 8 MiB of the others.
  int ok_at_stop = 0;
  for (int32_t s : at_stop) {
    const auto got = n.client.answer(s);
    INFO("stream " << s << ": " << n.client.data_size(s) << " bytes");
    REQUIRE(got.complete);
    if (got.grpc_status() == 0) {
      ++ok_at_stop;
      etcdserverpb::RangeResponse response;
      REQUIRE(got.messages().size() == 1);
      REQUIRE(response.ParseFromString(got.messages()[0]));
      CHECK(response.kvs(0).value().size() == value.size());
    } else {
      CHECK(got.grpc_status() == 8);
    }
  }
  CHECK(ok_at_stop >= 1);
  CHECK(n.process.stop() == 0);
}

TEST_CASE("h2 door: requests no gRPC client sends get gRPC's answers and the node keeps serving",
          "[etcdapi][h2][node][bad-input]") {
  Node n;
  const auto put = H2Client::grpc_headers("/etcdserverpb.KV/Put");

  SECTION("not gRPC's content type: HTTP 415") {
    auto headers = put;
    headers[4].second = "application/json";
    auto a = n.client.call(headers, put_request("k", "v"));
    CHECK(a.http_status == 415);
    CHECK(a.grpc_status() == 13);
  }
  SECTION("an encoding the door has no decompressor for") {
    auto headers = put;
    headers.emplace_back("grpc-encoding", "snappy");
    auto a = n.client.call(headers, put_request("k", "v"));
    CHECK(a.grpc_status() == 12);
    CHECK(a.grpc_message() == "grpc: Decompressor is not installed for grpc-encoding \"snappy\"");
  }
  SECTION("a compressed message without an encoding") {
    etcdserverpb::PutRequest request;
    request.set_key("k");
    auto a = n.client.call(
        put, frame_compressed(compress(GrpcEncoding::gzip, request.SerializeAsString())));
    CHECK(a.grpc_status() == 13);
    CHECK(a.grpc_message() == "grpc: compressed flag set with identity or empty encoding");
  }
  SECTION("gzip that is not, and gzip that inflates beyond the limit") {
    auto headers = put;
    headers.emplace_back("grpc-encoding", "gzip");
    auto a = n.client.call(headers, frame_compressed("not gzip"));
    CHECK(a.grpc_status() == 13);
    CHECK(a.grpc_message().starts_with("grpc: failed to decompress the received message: "));
    // 1.5 MiB of --max-request-bytes plus gRPC's 512 KiB is the most a message may inflate to.
    etcdserverpb::PutRequest big;
    big.set_key("k");
    big.set_value(std::string(8u << 20, 'z'));
    a = n.client.call(headers,
                      frame_compressed(compress(GrpcEncoding::gzip, big.SerializeAsString())));
    CHECK(a.grpc_status() == 8);
    CHECK(a.grpc_message() ==
          "grpc: received message after decompression larger than max (2097153 vs. 2097152)");
  }
  SECTION("a message announced over the limit is refused from its prefix") {
    // 1.5 MiB of --max-request-bytes plus gRPC's 512 KiB: 2 MiB is the most taken.
    std::string prefix("\0\x10\0\0\0", 5);  // 256 MiB announced, none of it sent
    auto a = n.client.call(put, prefix, false);
    CHECK(a.grpc_status() == 8);
    CHECK(a.grpc_message() == "grpc: received message larger than max (268435456 vs. 2097152)");
  }
  SECTION("a stream that ends inside a message") {
    auto a = n.client.call(put, put_request("k", "v").substr(0, 8));
    CHECK(a.grpc_status() == 13);
  }
  SECTION("two messages on a unary call, and none") {
    auto a = n.client.call(put, put_request("a", "1") + put_request("b", "2"));
    CHECK(a.grpc_status() == 13);
    CHECK(a.grpc_message() == "grpc: error unmarshalling request: malformed protobuf message");
    a = n.client.call(put, "");
    CHECK(a.grpc_status() == 13);
  }
  SECTION("bytes that are not the request's protobuf") {
    auto a = n.client.call(put, etcdapi::frame_grpc_message("\xff\xff\xff"));
    CHECK(a.grpc_status() == 13);
    CHECK(a.grpc_message() == "grpc: error unmarshalling request: malformed protobuf message");
  }
  SECTION("headers gRPC would refuse as metadata, on a relayed call") {
    // gRPC's C++ library aborts on a call started with such metadata: the door drops them.
    auto headers = H2Client::grpc_headers("/etcdserverpb.Maintenance/Status");
    headers.emplace_back("x-text", "caf\xc3\xa9\x7f");
    headers.emplace_back("X-Upper", "v");
    headers.emplace_back("token", std::string("a\x01b"));
    auto a = n.client.call(headers, etcdapi::frame_grpc_message(""));
    CHECK(a.grpc_status() == 0);
    CHECK(a.messages().size() == 1);
  }
  // Whatever came before, the same connection still serves.
  auto ok = n.client.call(put, put_request("after", "ok"));
  CHECK(ok.grpc_status() == 0);
}

TEST_CASE("h2 door: gzip- and deflate-compressed requests, served and relayed",
          "[etcdapi][h2][node]") {
  Node n;
  const std::string value(200000, 'c');
  etcdserverpb::PutRequest request;
  request.set_key("zipped");
  request.set_value(value);
  for (auto [name, encoding] :
       {std::pair{"gzip", GrpcEncoding::gzip}, std::pair{"deflate", GrpcEncoding::deflate}}) {
    auto headers = H2Client::grpc_headers("/etcdserverpb.KV/Put");
    headers.emplace_back("grpc-encoding", name);
    auto packed = compress(encoding, request.SerializeAsString());
    auto a = n.client.call(headers, frame_compressed(packed));
    CHECK(a.grpc_status() == 0);
    CHECK(a.headers["grpc-accept-encoding"] == "identity,deflate,gzip");
    REQUIRE(a.messages().size() == 1);
  }
  // What was put is the value inflated; a Lease call (served by the door too) and a relayed
  // call (the Maintenance service) inflate too.
  auto range_response = range_of(n.client, "zipped");
  REQUIRE(range_response.kvs_size() == 1);
  CHECK(range_response.kvs(0).value() == value);
  CHECK(range_response.kvs(0).version() == 2);
  etcdserverpb::LeaseGrantRequest grant;
  grant.set_ttl(60);
  auto headers = H2Client::grpc_headers("/etcdserverpb.Lease/LeaseGrant");
  headers.emplace_back("grpc-encoding", "gzip");
  auto granted = n.client.call(
      headers, frame_compressed(compress(GrpcEncoding::gzip, grant.SerializeAsString())));
  CHECK(granted.grpc_status() == 0);
  REQUIRE(granted.messages().size() == 1);
  etcdserverpb::LeaseGrantResponse grant_response;
  REQUIRE(grant_response.ParseFromString(granted.messages()[0]));
  CHECK(grant_response.ttl() == 60);
  auto status_headers = H2Client::grpc_headers("/etcdserverpb.Maintenance/Status");
  status_headers.emplace_back("grpc-encoding", "gzip");
  auto status_answer =
      n.client.call(status_headers, frame_compressed(compress(GrpcEncoding::gzip, "")));
  CHECK(status_answer.grpc_status() == 0);
  REQUIRE(status_answer.messages().size() == 1);
  etcdserverpb::StatusResponse status_response;
  REQUIRE(status_response.ParseFromString(status_answer.messages()[0]));
  CHECK(status_response.header().revision() == 3);

  // gRPC's own C++ client with gzip on: puts (the door's) and a Watch stream.
  auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(n.process.grpc_port()),
                                     grpc::InsecureChannelCredentials());
  auto kv = etcdserverpb::KV::NewStub(channel);
  grpc::ClientContext put_context;
  put_context.set_compression_algorithm(GRPC_COMPRESS_GZIP);
  request.set_key("from-grpc");
  etcdserverpb::PutResponse put_response;
  auto status = kv->Put(&put_context, request, &put_response);
  CHECK(status.error_code() == grpc::StatusCode::OK);
  CHECK(put_response.header().revision() == 4);
  grpc::ClientContext deflate_context;
  deflate_context.set_compression_algorithm(GRPC_COMPRESS_DEFLATE);
  request.set_key("deflated");
  status = kv->Put(&deflate_context, request, &put_response);
  CHECK(status.error_code() == grpc::StatusCode::OK);
  CHECK(put_response.header().revision() == 5);
  // A Watch stream (served by the door) whose create request is large enough for gRPC to
  // compress it.
  auto watch = etcdserverpb::Watch::NewStub(channel);
  grpc::ClientContext watch_context;
  watch_context.set_compression_algorithm(GRPC_COMPRESS_GZIP);
  auto stream = watch->Watch(&watch_context);
  etcdserverpb::WatchRequest create;
  create.mutable_create_request()->set_key(std::string(100000, 'w'));
  REQUIRE(stream->Write(create));
  etcdserverpb::WatchResponse created;
  REQUIRE(stream->Read(&created));
  CHECK(created.created());
  watch_context.TryCancel();
}

TEST_CASE("h2 door: a compressed message that does not inflate ends its stream alone",
          "[etcdapi][h2][node][bad-input]") {
  Node n;
  etcdserverpb::WatchRequest create;
  create.mutable_create_request()->set_key("w");
  const std::string good =
      frame_compressed(compress(GrpcEncoding::gzip, create.SerializeAsString()));
  // Two messages in one DATA frame on a relayed stream, the first not gzip: the stream ends
  // Internal, and the bytes of both go back to the windows once. A call sent right behind it
  // (read by the door in the same turn, before that stream is gone) finds the connection's
  // budget whole and is served.
  auto watch = H2Client::grpc_headers("/etcdserverpb.Watch/Watch");
  watch.emplace_back("grpc-encoding", "gzip");
  for (int i = 0; i < 3; ++i) {
    const int32_t refused = n.client.open_stream(watch, frame_compressed("not gzip") + good, true);
    auto ok = n.client.call(H2Client::grpc_headers("/etcdserverpb.KV/Put"), put_request("k", "v"));
    CHECK(ok.grpc_status() == 0);
    CHECK(ok.grpc_message().empty());
    REQUIRE(n.client.pump_until([&] { return n.client.answer(refused).complete; }, 20s));
    CHECK(n.client.answer(refused).grpc_status() == 13);
  }
  // The last grpc-encoding header counts, as in grpc-go: gzip then identity refuses a
  // compressed message; an unknown one then gzip inflates it.
  auto put = H2Client::grpc_headers("/etcdserverpb.KV/Put");
  etcdserverpb::PutRequest request;
  request.set_key("k2");
  const std::string packed =
      frame_compressed(compress(GrpcEncoding::gzip, request.SerializeAsString()));
  auto last_identity = put;
  last_identity.emplace_back("grpc-encoding", "gzip");
  last_identity.emplace_back("grpc-encoding", "identity");
  auto a = n.client.call(last_identity, packed);
  CHECK(a.grpc_status() == 13);
  CHECK(a.grpc_message() == "grpc: compressed flag set with identity or empty encoding");
  auto last_gzip = put;
  last_gzip.emplace_back("grpc-encoding", "snappy");
  last_gzip.emplace_back("grpc-encoding", "gzip");
  CHECK(n.client.call(last_gzip, packed).grpc_status() == 0);
}

TEST_CASE("h2 door: what a connection's unfinished messages hold is bounded by its budget",
          "[etcdapi][h2][node][bad-input]") {
  Node n;
  // Forty Put streams, each announcing a 2,000,000-byte message and sending 1,900,000
  // bytes of it, never the rest: 76 MB that the node would hold for this one connection.
  // Its budget is 64 MiB (16 of the largest messages): the streams that go over it are
  // refused, as etcd refuses a request it has no room for.
  std::string partial("\0\0\x1e\x84\x80", 5);  // 2,000,000
  partial += std::string(1'900'000, 'x');
  std::vector<int32_t> streams;
  for (int i = 0; i < 40; ++i)
    streams.push_back(
        n.client.open_stream(H2Client::grpc_headers("/etcdserverpb.KV/Put"), partial));
  auto all_out = [&] {
    for (int32_t id : streams)
      if (n.client.unsent(id) > 0 && !n.client.answer(id).complete) return false;
    return true;
  };
  REQUIRE(n.client.pump_until(all_out, 20s));
  // At least 40 - 36 streams are refused; their answers come after their bytes.
  auto answered = [&] {
    size_t complete = 0;
    for (int32_t id : streams)
      complete += n.client.answer(id).complete;
    return complete;
  };
  REQUIRE(n.client.pump_until([&] { return answered() >= 4; }, 20s));
  size_t refused = 0, open = 0;
  for (int32_t id : streams) {
    const auto a = n.client.answer(id);
    if (!a.complete) {
      ++open;
      continue;
    }
    CHECK(a.grpc_status() == 8);
    CHECK(a.grpc_message() == "etcdserver: too many requests");
    ++refused;
  }
  // 64 MiB hold 35 of them whole; the budget is checked after each DATA frame.
  CHECK(open >= 34);
  CHECK(open <= 36);
  CHECK(refused == streams.size() - open);
  // Meanwhile the node serves everyone else: another connection writes and reads.
  H2Client other(n.process.grpc_port());
  auto put = other.call(H2Client::grpc_headers("/etcdserverpb.KV/Put"), put_request("k", "v"));
  CHECK(put.grpc_status() == 0);
}

TEST_CASE("h2 door: a client that resets streams without end is cut off, and only it",
          "[etcdapi][h2][node][bad-input]") {
  // HTTP/2 "rapid reset" (CVE-2023-44487): streams opened and reset at once cost the server
  // work while they never count against the client's concurrent streams. nghttp2 (Debian's
  // 1.52.0-1+deb12u3) bounds the resets a connection may send: 1,000 at once, then 33 a
  // second; beyond that it sends GOAWAY and the door closes the connection.
  Node n;
  const auto put = H2Client::grpc_headers("/etcdserverpb.KV/Put");
  // Opens `count` streams whose requests never end, sends them, then resets them all (a
  // stream reset before its HEADERS went out would never reach the server).
  auto open_and_reset = [&put](H2Client& client, int count, const std::string& key) {
    std::vector<int32_t> ids;
    for (int i = 0; i < count; ++i)
      ids.push_back(client.open_stream(put, put_request(key, "x"), false));
    client.pump_until([] { return false; }, 0ms);
    for (int32_t id : ids)
      client.reset(id);
  };
  // Cancelling calls is ordinary: 500 resets, and the connection still serves.
  for (int batch = 0; batch < 5; ++batch)
    open_and_reset(n.client, 100, "cancelled");
  CHECK(n.client.call(put, put_request("after-cancels", "ok")).grpc_status() == 0);
  CHECK_FALSE(n.client.wait_goaway(0ms).has_value());

  H2Client flood(n.process.grpc_port());
  std::optional<int32_t> goaway;
  int resets = 0;
  for (int batch = 0; batch < 50 && !goaway; ++batch) {
    open_and_reset(flood, 100, "flood");
    resets += 100;
    goaway = flood.wait_goaway(20ms);
  }
  INFO("resets before GOAWAY: " << resets);
  CHECK(goaway.has_value());
  CHECK(resets > 1000);  // not before the burst was spent
  // The streams were never ended, so nothing was handed on: no key "flood" was written; and
  // the other connection is served as before.
  CHECK(range_of(n.client, "flood").kvs_size() == 0);
  CHECK(n.client.call(put, put_request("after-flood", "ok")).grpc_status() == 0);
}

TEST_CASE("h2 door: many large requests at once on one connection all get through",
          "[etcdapi][h2][node]") {
  // A client interleaves the frames of its streams: with 24 Puts of 1.4 MB in flight,
  // none is whole until all have sent most of their bytes. No window may wait for a
  // whole message (the connection's gets every byte back as it arrives).
  testing::TempDir dir;
  testing::NodeProcess node(dir.sub("node"), {"--shards", "2", "--sync", "never"});
  auto channel = grpc::CreateChannel(node.grpc_endpoint(), grpc::InsecureChannelCredentials());
  grpc::GenericStub stub(channel);
  constexpr int kCalls = 24;
  struct Pending {
    grpc::ClientContext context;
    grpc::ByteBuffer request, response;
    std::promise<grpc::Status> status;
  };
  std::vector<std::unique_ptr<Pending>> calls;
  for (int i = 0; i < kCalls; ++i) {
    auto p = std::make_unique<Pending>();
    p->context.set_deadline(std::chrono::system_clock::now() + 60s);
    etcdserverpb::PutRequest put;
    put.set_key("big/" + std::to_string(i));
    put.set_value(std::string(1'400'000, static_cast<char>('a' + i % 26)));
    grpc::Slice slice(put.SerializeAsString());
    p->request = grpc::ByteBuffer(&slice, 1);
    auto* raw = p.get();
    stub.UnaryCall(&raw->context, "/etcdserverpb.KV/Put", grpc::StubOptions(), &raw->request,
                   &raw->response, [raw](grpc::Status s) { raw->status.set_value(std::move(s)); });
    calls.push_back(std::move(p));
  }
  for (auto& p : calls)
    CHECK(p->status.get_future().get().ok());
  CHECK(node.stop() == 0);
}

TEST_CASE("h2 door: connections spread over several event loops see each other's writes",
          "[etcdapi][h2][node]") {
  testing::TempDir dir;
  testing::NodeProcess node(dir.sub("node"),
                            {"--shards", "2", "--sync", "never", "--http2-loops", "3"});
  // Seven connections: the door hands them to its three loops in turn.
  std::vector<std::unique_ptr<H2Client>> clients;
  for (int i = 0; i < 7; ++i)
    clients.push_back(std::make_unique<H2Client>(node.grpc_port()));
  // A watch on the first connection, from revision 2 on.
  etcdserverpb::WatchRequest watch;
  watch.mutable_create_request()->set_key("k/");
  watch.mutable_create_request()->set_range_end("k0");
  // Open (it does not end); the created message is awaited.
  const int32_t watching =
      clients[0]->open_stream(H2Client::grpc_headers("/etcdserverpb.Watch/Watch"),
                              etcdapi::frame_grpc_message(watch.SerializeAsString()));
  REQUIRE(clients[0]->pump_until(
      [&] { return clients[0]->answer(watching).messages().size() == 1; }, 20s));
  // Each connection writes a key and reads the one its neighbour wrote before it.
  for (int round = 0; round < 3; ++round) {
    for (size_t i = 1; i < clients.size(); ++i) {
      const std::string key = "k/" + std::to_string(round) + "/" + std::to_string(i);
      auto put = clients[i]->call(H2Client::grpc_headers("/etcdserverpb.KV/Put"),
                                  put_request(key, "v" + std::to_string(i)));
      REQUIRE(put.grpc_status() == 0);
      if (i == 1) continue;
      auto r = range_of(*clients[i], "k/" + std::to_string(round) + "/" + std::to_string(i - 1));
      REQUIRE(r.kvs_size() == 1);
      CHECK(r.kvs(0).value() == "v" + std::to_string(i - 1));
    }
  }
  // The watch on the first connection got all 18 puts, in revision order.
  std::vector<int64_t> revisions;
  auto all_events = [&] {
    revisions.clear();
    for (const auto& m : clients[0]->answer(watching).messages()) {
      etcdserverpb::WatchResponse w;
      if (!w.ParseFromString(m)) return false;
      for (const auto& e : w.events())
        revisions.push_back(e.kv().mod_revision());
    }
    return revisions.size() >= 18;
  };
  CHECK(clients[0]->pump_until(all_events, 20s));
  REQUIRE(revisions.size() == 18);
  for (size_t i = 0; i < revisions.size(); ++i)
    CHECK(revisions[i] == static_cast<int64_t>(i) + 2);
  CHECK(node.stop() == 0);
}

TEST_CASE(
    "h2 door: at shutdown a GOAWAY, an open watch stream ends Unavailable and a "
    "LeaseKeepAlive stream Cancelled",
    "[etcdapi][h2][node]") {
  Node n;
  etcdserverpb::WatchRequest watch;
  watch.mutable_create_request()->set_key("w");
  n.client.call(H2Client::grpc_headers("/etcdserverpb.Watch/Watch"),
                etcdapi::frame_grpc_message(watch.SerializeAsString()), false, 0ms);
  auto open = n.client.wait_messages(1, 20s);
  // Still open; the watch was created.
  CHECK_FALSE(open.complete);
  REQUIRE(open.messages().size() == 1);
  etcdserverpb::WatchResponse created;
  REQUIRE(created.ParseFromString(open.messages()[0]));
  CHECK(created.created());

  // And a LeaseKeepAlive stream, which the stopping server cancels as gRPC's server does.
  etcdserverpb::LeaseKeepAliveRequest keepalive;
  keepalive.set_id(404);
  const int32_t kept =
      n.client.open_stream(H2Client::grpc_headers("/etcdserverpb.Lease/LeaseKeepAlive"),
                           etcdapi::frame_grpc_message(keepalive.SerializeAsString()));
  REQUIRE(n.client.pump_until([&] { return n.client.answer(kept).messages().size() == 1; }, 20s));

  REQUIRE(::kill(n.process.pid(), SIGTERM) == 0);
  CHECK(n.client.wait_goaway(20s).has_value());
  auto ended = n.client.wait_end(20s);
  REQUIRE(ended.complete);
  CHECK(ended.grpc_status() == 14);
  CHECK(ended.grpc_message() == "etcdserver: server stopped");
  REQUIRE(n.client.pump_until([&] { return n.client.answer(kept).complete; }, 20s));
  CHECK(n.client.answer(kept).grpc_status() == 1);
  CHECK(n.client.answer(kept).grpc_message() == "Cancelled");
  CHECK(n.process.stop() == 0);
}

TEST_CASE(
    "h2 door: Watch streams served by the door: creates beyond its credit, an empty "
    "request, a message that does not parse",
    "[etcdapi][h2][node][bad-input]") {
  Node n;
  const auto watch_headers = H2Client::grpc_headers("/etcdserverpb.Watch/Watch");
  auto create = [](const std::string& key) {
    etcdserverpb::WatchRequest w;
    w.mutable_create_request()->set_key(key);
    return etcdapi::frame_grpc_message(w.SerializeAsString());
  };
  auto responses = [](const testing::H2Answer& answer) {
    std::vector<etcdserverpb::WatchResponse> out;
    for (const auto& m : answer.messages()) {
      etcdserverpb::WatchResponse r;
      REQUIRE(r.ParseFromString(m));
      out.push_back(r);
    }
    return out;
  };
  // 300 creates at once, far more than the 64 a stream has waiting for their answers, with a
  // request that sets nothing among them (etcd skips it): every create is answered, in
  // order, with the ids 0..299.
  std::string burst;
  for (int i = 0; i < 300; ++i) {
    burst += create("w" + std::to_string(i));
    if (i == 150) burst += etcdapi::frame_grpc_message("");
  }
  const int32_t stream = n.client.open_stream(watch_headers, burst, false);
  REQUIRE(
      n.client.pump_until([&] { return n.client.answer(stream).messages().size() >= 300; }, 20s));
  auto created = responses(n.client.answer(stream));
  REQUIRE(created.size() == 300);
  for (int i = 0; i < 300; ++i) {
    INFO("response " << i);
    CHECK(created[i].created());
    CHECK(created[i].watch_id() == i);
  }
  // The stream's window was given back: a put's event arrives on it.
  CHECK(n.client.call(H2Client::grpc_headers("/etcdserverpb.KV/Put"), put_request("w7", "x"))
            .grpc_status() == 0);
  REQUIRE(
      n.client.pump_until([&] { return n.client.answer(stream).messages().size() >= 301; }, 20s));
  auto event = responses(n.client.answer(stream)).back();
  CHECK(event.watch_id() == 7);
  REQUIRE(event.events_size() == 1);
  CHECK(event.events(0).kv().key() == "w7");

  // Bytes that are no WatchRequest end their stream as grpc-go's server (so etcd) ends it;
  // the other stream keeps its watchers.
  auto bad =
      n.client.call(watch_headers, create("ok") + etcdapi::frame_grpc_message("\xff\xff"), false);
  REQUIRE(bad.complete);
  CHECK(bad.grpc_status() == 13);
  CHECK(bad.grpc_message() ==
        "grpc: failed to unmarshal the received message malformed protobuf message");
  CHECK(n.client.call(H2Client::grpc_headers("/etcdserverpb.KV/Put"), put_request("w8", "y"))
            .grpc_status() == 0);
  REQUIRE(
      n.client.pump_until([&] { return n.client.answer(stream).messages().size() >= 302; }, 20s));
  event = responses(n.client.answer(stream)).back();
  CHECK(event.watch_id() == 8);
  CHECK_FALSE(n.client.answer(stream).complete);

  // A stream's grpc-timeout ends it once it has passed, as etcd's Watch ends when its
  // stream's context expires.
  auto timed = watch_headers;
  timed.emplace_back("grpc-timeout", "200m");
  auto expired = n.client.call(timed, create("t"), false);
  REQUIRE(expired.complete);
  CHECK(expired.grpc_status() == 4);
  CHECK(expired.grpc_message() == "context deadline exceeded");
  REQUIRE(expired.messages().size() == 1);
  CHECK(responses(expired)[0].created());
}

TEST_CASE(
    "h2 door vs etcd 3.4: a Watch or LeaseKeepAlive message that does not parse ends its "
    "stream alike",
    "[etcdapi][h2][node][bad-input][vs-etcd]") {
  const std::string etcd_bin = testing::etcd_or_skip();
  if (etcd_bin.empty()) return;
  testing::TempDir dir;
  testing::EtcdProcess etcd(etcd_bin, dir.sub("etcd"));
  Node n;
  const auto etcd_port = static_cast<uint16_t>(std::stoi(etcd.endpoint().substr(10)));
  // etcd is the reference, not what is tested: a stream it did not end within the wait (seen
  // once, in a CI run of two test binaries on two cores) is asked again on a new connection,
  // and what every attempt saw is reported if none ends.
  std::string etcd_attempts;
  auto ask_etcd = [&](const H2Client::Headers& headers, const std::string& bytes) {
    testing::H2Answer answer;
    for (int attempt = 0; attempt < 3 && !answer.complete; ++attempt) {
      H2Client to_etcd(etcd_port);
      const auto start = std::chrono::steady_clock::now();
      answer = to_etcd.call(headers, bytes, false, 10s);
      etcd_attempts += "attempt " + std::to_string(attempt) + ": complete " +
                       std::to_string(answer.complete) + ", connection broken " +
                       std::to_string(to_etcd.broken()) + ", " +
                       std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                          std::chrono::steady_clock::now() - start)
                                          .count()) +
                       " ms, " + std::to_string(answer.messages().size()) + " messages; ";
    }
    return answer;
  };
  etcdserverpb::WatchRequest w;
  w.mutable_create_request()->set_key("ok");
  const std::string bytes =
      etcdapi::frame_grpc_message(w.SerializeAsString()) + etcdapi::frame_grpc_message("\xff\xff");
  const auto headers = H2Client::grpc_headers("/etcdserverpb.Watch/Watch");
  auto theirs = ask_etcd(headers, bytes);
  const auto asked = std::chrono::steady_clock::now();
  auto ours = n.client.call(headers, bytes, false);
  INFO("etcd: " << etcd_attempts);
  // What revkvd's stream saw, for a failure: it did not end within 20 s once in a Bazel run
  // of the fresh-clone CI, where etcd's first attempt had not ended within 10 s either.
  INFO("revkvd: complete " << ours.complete << ", connection broken " << n.client.broken() << ", "
                           << std::chrono::duration_cast<std::chrono::milliseconds>(
                                  std::chrono::steady_clock::now() - asked)
                                  .count()
                           << " ms, " << ours.messages().size() << " messages, reset "
                           << (ours.reset ? std::to_string(*ours.reset) : "none"));
  REQUIRE(theirs.complete);
  REQUIRE(ours.complete);
  INFO("etcd: " << theirs.grpc_status().value_or(-1) << " " << theirs.grpc_message());
  INFO("revkvd: " << ours.grpc_status().value_or(-1) << " " << ours.grpc_message());
  CHECK(ours.grpc_status() == 13);
  CHECK(ours.grpc_status() == theirs.grpc_status());
  // grpc-go's text for a stream's message, then Go's decoder's own reason ("unexpected
  // EOF" here), which no other decoder words alike.
  const std::string text = "grpc: failed to unmarshal the received message ";
  CHECK(theirs.grpc_message().starts_with(text));
  CHECK(ours.grpc_message() == text + "malformed protobuf message");
  // revkvd ends the stream as the message is read: the create before it, read in the same
  // frame, is not answered. etcd usually does the same; a busy etcd may have sent the
  // created response before its receive loop failed (its send loop runs beside it).
  CHECK(ours.messages().empty());
  CHECK(theirs.messages().size() <= 1);

  // The same on a LeaseKeepAlive stream.
  const auto keepalive = H2Client::grpc_headers("/etcdserverpb.Lease/LeaseKeepAlive");
  auto etcd_keepalive = ask_etcd(keepalive, etcdapi::frame_grpc_message("\xff\xff"));
  auto our_keepalive = n.client.call(keepalive, etcdapi::frame_grpc_message("\xff\xff"), false);
  INFO("etcd: " << etcd_keepalive.grpc_message() << ", revkvd: " << our_keepalive.grpc_message());
  CHECK(our_keepalive.grpc_status() == etcd_keepalive.grpc_status());
  CHECK(etcd_keepalive.grpc_message().starts_with(text));
  CHECK(our_keepalive.grpc_message() == text + "malformed protobuf message");
}

TEST_CASE(
    "h2 door: Watch streams whose client does not read hold their backlog themselves, "
    "not their connection",
    "[etcdapi][h2][node][bad-input]") {
  // Three watchers of one prefix on one connection, each on a stream whose window the client
  // holds (it reads none of it), get 12 MiB of events each. Past the path's watch buffer
  // their watchers are parked; what a stream has not handed to the loop stays its own, so
  // the connection's KV calls are served as usual meanwhile (a backlog counted against the
  // connection's 8 MiB of unsent answers would have them refused `too many requests`).
  Node n;
  H2Client writer(n.process.grpc_port());
  etcdserverpb::WatchRequest w;
  w.mutable_create_request()->set_key("big/");
  w.mutable_create_request()->set_range_end("big0");
  const auto watch_headers = H2Client::grpc_headers("/etcdserverpb.Watch/Watch");
  std::vector<int32_t> streams;
  for (int i = 0; i < 3; ++i)
    streams.push_back(
        n.client.open_stream(watch_headers, etcdapi::frame_grpc_message(w.SerializeAsString())));
  REQUIRE(n.client.pump_until(
      [&] {
        for (int32_t s : streams)
          if (n.client.answer(s).messages().empty()) return false;
        return true;
      },
      20s));
  for (int32_t s : streams)
    n.client.hold_window(s, true);

  constexpr int kPuts = 120;
  const std::string value(100 << 10, 'v');
  const auto put = H2Client::grpc_headers("/etcdserverpb.KV/Put");
  for (int i = 0; i < kPuts; ++i) {
    INFO("put " << i);
    REQUIRE(writer.call(put, put_request("big/" + std::to_string(1000 + i), value)).grpc_status() ==
            0);
  }
  // The watchers' connection is served while its watch streams are stalled.
  auto range = range_of(n.client, "big/1000");
  REQUIRE(range.kvs_size() == 1);
  for (int32_t s : streams)
    CHECK(n.client.data_size(s) < (1u << 20));  // the window held them back

  // Creates sent on a stalled stream wait until its client reads: no watcher grows
  // meanwhile (the three stay three), however many it sends.
  auto watchers = [&] {
    const auto metrics = testing::http_get(n.process.metrics_port(), "/metrics").body;
    const auto at = metrics.find("\nrevkv_watchers ");
    REQUIRE(at != std::string::npos);
    return std::stod(metrics.substr(at + 16));
  };
  REQUIRE(watchers() == 3);
  etcdserverpb::WatchRequest later;
  later.mutable_create_request()->set_key("later");
  std::string creates;
  for (int i = 0; i < 10; ++i)
    creates += etcdapi::frame_grpc_message(later.SerializeAsString());
  n.client.send_data(streams[0], creates);
  // The creates went out with the first call's request; the second's comes after them.
  CHECK(range_of(n.client, "big/1001").kvs_size() == 1);
  CHECK(range_of(n.client, "big/1002").kvs_size() == 1);
  CHECK(watchers() == 3);

  // Once the client reads, every watcher gets every event once, in order.
  for (int32_t s : streams)
    n.client.hold_window(s, false);
  auto events_of = [&](int32_t s) {
    std::vector<std::string> keys;
    for (const auto& m : n.client.answer(s).messages()) {
      etcdserverpb::WatchResponse r;
      REQUIRE(r.ParseFromString(m));
      for (const auto& e : r.events())
        keys.push_back(e.kv().key());
    }
    return keys;
  };
  REQUIRE(n.client.pump_until(
      [&] {
        for (int32_t s : streams)
          // The bytes first: parsing them all on every turn would be quadratic.
          if (n.client.data_size(s) < kPuts * value.size() || events_of(s).size() < kPuts)
            return false;
        return true;
      },
      60s));
  for (int32_t s : streams) {
    auto keys = events_of(s);
    REQUIRE(keys.size() == kPuts);
    for (int i = 0; i < kPuts; ++i)
      CHECK(keys[i] == "big/" + std::to_string(1000 + i));
  }
  // Then the held creates are taken and answered, with the stream's next ids.
  auto created_later = [&] {
    std::vector<int64_t> ids;
    for (const auto& m : n.client.answer(streams[0]).messages()) {
      etcdserverpb::WatchResponse r;
      REQUIRE(r.ParseFromString(m));
      if (r.created() && r.watch_id() > 0) ids.push_back(r.watch_id());
    }
    return ids;
  };
  REQUIRE(n.client.pump_until([&] { return created_later().size() == 10; }, 20s));
  CHECK(created_later() == std::vector<int64_t>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10});
  CHECK(watchers() == 13);
}

TEST_CASE(
    "h2 door: LeaseKeepAlive streams served by the door: in order, a bad message, the "
    "client's end",
    "[etcdapi][h2][node][bad-input]") {
  Node n;
  etcdserverpb::LeaseGrantRequest grant;
  grant.set_id(5);
  grant.set_ttl(60);
  REQUIRE(n.client
              .call(H2Client::grpc_headers("/etcdserverpb.Lease/LeaseGrant"),
                    etcdapi::frame_grpc_message(grant.SerializeAsString()))
              .grpc_status() == 0);
  auto keepalive = [](int64_t id) {
    etcdserverpb::LeaseKeepAliveRequest r;
    r.set_id(id);
    return etcdapi::frame_grpc_message(r.SerializeAsString());
  };
  const auto headers = H2Client::grpc_headers("/etcdserverpb.Lease/LeaseKeepAlive");
  // Pipelined, then the client's end: one answer per request, in order (TTL 0 for a lease
  // that is not there, as etcd answers), then OK.
  auto answered = n.client.call(headers, keepalive(5) + keepalive(404) + keepalive(5), true);
  REQUIRE(answered.complete);
  CHECK(answered.grpc_status() == 0);
  REQUIRE(answered.messages().size() == 3);
  std::vector<std::pair<int64_t, int64_t>> got;
  for (const auto& m : answered.messages()) {
    etcdserverpb::LeaseKeepAliveResponse r;
    REQUIRE(r.ParseFromString(m));
    got.emplace_back(r.id(), r.ttl());
  }
  CHECK(got == std::vector<std::pair<int64_t, int64_t>>{{5, 60}, {404, 0}, {5, 60}});

  // 200 requests at once on a stream the client keeps open: all answered, in order.
  std::string many;
  for (int i = 0; i < 200; ++i)
    many += keepalive(i % 2 ? 5 : 404);
  const int32_t open = n.client.open_stream(headers, many, false);
  REQUIRE(n.client.pump_until([&] { return n.client.answer(open).messages().size() >= 200; }, 20s));
  auto all = n.client.answer(open).messages();
  REQUIRE(all.size() == 200);
  for (int i = 0; i < 200; ++i) {
    etcdserverpb::LeaseKeepAliveResponse r;
    REQUIRE(r.ParseFromString(all[i]));
    CHECK(r.id() == (i % 2 ? 5 : 404));
  }
  CHECK_FALSE(n.client.answer(open).complete);

  // Bytes that are no LeaseKeepAliveRequest end the stream as etcd (grpc-go) ends it.
  auto bad = n.client.call(headers, etcdapi::frame_grpc_message("\xff\xff"), false);
  REQUIRE(bad.complete);
  CHECK(bad.grpc_status() == 13);
  CHECK(bad.grpc_message() ==
        "grpc: failed to unmarshal the received message malformed protobuf message");
  // The other stream is still served.
  n.client.send_data(open, keepalive(5));
  REQUIRE(n.client.pump_until([&] { return n.client.answer(open).messages().size() >= 201; }, 20s));

  // A stream's grpc-timeout ends it once it has passed.
  auto timed = headers;
  timed.emplace_back("grpc-timeout", "200m");
  auto expired = n.client.call(timed, keepalive(5), false);
  REQUIRE(expired.complete);
  CHECK(expired.grpc_status() == 4);
  CHECK(expired.grpc_message() == "context deadline exceeded");
  CHECK(expired.messages().size() == 1);
  CHECK_FALSE(n.client.answer(open).complete);
}

}  // namespace
}  // namespace revkv
