#include "client/response_decoder.hpp"
#include "client/socket.hpp"
#include "protocol/codec.hpp"
#include "protocol/frame.hpp"

#include <catch2/catch.hpp>

using namespace revkv;

TEST_CASE("ResponseDecoder returns responses and notifications in stream order") {
  client::ResponseDecoder d;
  msgpack::sbuffer stream;
  protocol::write_result(stream, 3, protocol::encode_to_string(protocol::DefragmentResponse{}));
  protocol::write_notification(stream, "Watch.Watch",
                               protocol::encode_to_string(protocol::WatchResponse{}));
  protocol::write_error(stream, 4, protocol::WireError{5, "etcdserver: requested lease not found"});
  std::string bytes(stream.data(), stream.size());
  // Fed in two uneven halves: frames straddle the cut.
  d.feed(std::string_view(bytes).substr(0, 7));
  auto none = d.next();
  REQUIRE(none.ok());
  CHECK_FALSE(none.value().has_value());
  d.feed(std::string_view(bytes).substr(7));

  auto a = d.next();
  REQUIRE((a.ok() && a.value()));
  auto& ra = std::get<client::Response>(*a.value());
  CHECK(ra.msgid == 3);
  CHECK_FALSE(ra.error);
  CHECK(ra.result.type == msgpack::type::MAP);

  auto b = d.next();
  REQUIRE((b.ok() && b.value()));
  CHECK(std::get<client::Notification>(*b.value()).method == "Watch.Watch");

  auto c = d.next();
  REQUIRE((c.ok() && c.value()));
  auto& rc = std::get<client::Response>(*c.value());
  REQUIRE(rc.error);
  CHECK(rc.error->code == 5);
  CHECK(rc.error->message == "etcdserver: requested lease not found");

  auto end = d.next();
  REQUIRE(end.ok());
  CHECK_FALSE(end.value().has_value());
}

TEST_CASE("ResponseDecoder refuses oversized and malformed frames for good") {
  client::ClientLimits limits;
  limits.max_frame_bytes = 64;
  SECTION("a string longer than the bound fails once the bound is passed, not at its end") {
    client::ResponseDecoder d(limits);
    msgpack::sbuffer frame;
    protocol::Packer pk(frame);
    pk.pack_array(4);
    pk.pack_uint8(1);
    pk.pack_uint8(1);
    pk.pack_nil();
    pk.pack_map(1);
    pk.pack_str(1);
    pk.pack_str_body("v", 1);
    pk.pack_str(1000);
    frame.write(std::string(60, 'v').data(), 60);  // 60 of 1000 bytes: over 64 in all
    d.feed(std::string_view(frame.data(), frame.size()));
    auto r = d.next();
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == client::kCodeInternal);
  }
  SECTION("many small elements add up past the bound") {
    client::ResponseDecoder d(limits);
    msgpack::sbuffer frame;
    protocol::Packer pk(frame);
    pk.pack_array(4);
    pk.pack_uint8(1);
    pk.pack_uint8(1);
    pk.pack_nil();
    pk.pack_array(200);
    for (int i = 0; i < 100; ++i)
      pk.pack_uint8(1);  // incomplete: 100 of 200
    d.feed(std::string_view(frame.data(), frame.size()));
    CHECK_FALSE(d.next().ok());
  }
  SECTION("a frame that is not a response") {
    client::ResponseDecoder d;
    msgpack::sbuffer frame;
    protocol::write_request(frame, 1, "KV.Range", "");
    d.feed(std::string_view(frame.data(), frame.size()));
    CHECK_FALSE(d.next().ok());
    d.feed(std::string_view(frame.data(), frame.size()));
    CHECK_FALSE(d.next().ok());  // stays failed
  }
}

TEST_CASE("parse_endpoint") {
  auto a = client::parse_endpoint("127.0.0.1:7379");
  REQUIRE(a.ok());
  CHECK(a.value().host == "127.0.0.1");
  CHECK(a.value().port == 7379);
  auto b = client::parse_endpoint("http://localhost:2379");
  REQUIRE(b.ok());
  CHECK(b.value().host == "localhost");
  auto c = client::parse_endpoint("[::1]:80");
  REQUIRE(c.ok());
  CHECK(c.value().host == "::1");
  CHECK(c.value().to_string() == "[::1]:80");
  CHECK_FALSE(client::parse_endpoint("localhost").ok());
  CHECK_FALSE(client::parse_endpoint("h:99999").ok());
  CHECK_FALSE(client::parse_endpoint(":1").ok());
}
