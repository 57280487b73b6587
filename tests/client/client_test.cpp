#include "client/client.hpp"

#include "protocol/codec.hpp"
#include "tests/client/fake_server.hpp"

#include <catch2/catch.hpp>

#include <thread>
#include <vector>

using namespace revkv;
using client::Client;
using test::FakeConnection;
using test::FakeServer;

namespace {

protocol::ResponseHeader header(int64_t revision) {
  return {7, 9, revision, 1};
}

Client connect_to(const FakeServer& server, client::ClientOptions options = {}) {
  auto c = Client::connect(server.endpoint(), options);
  REQUIRE(c.ok());
  return std::move(c).value();
}

}  // namespace

TEST_CASE("call sends a request frame and decodes the typed result") {
  FakeServer server([](FakeConnection& conn) {
    auto req = conn.read_request();
    REQUIRE(req.method == "KV.Put");
    auto put = protocol::decode_body<storage::PutRequest>(req.body);
    REQUIRE(put.ok());
    CHECK(put.value().key == "foo");
    CHECK(put.value().value == "bar");
    CHECK(put.value().prev_kv);
    storage::PutResponse resp{5, storage::KeyValue{"foo", 2, 4, 3, "old", 0}};
    conn.send(test::result_frame(req.msgid, protocol::encode_kv_to_string(header(0), resp)));
  });
  auto c = connect_to(server);
  auto r = c.put(storage::PutRequest{"foo", "bar", 0, true, false, false});
  REQUIRE(r.ok());
  CHECK(r.value().header.cluster_id == 7);
  CHECK(r.value().header.revision == 5);
  REQUIRE(r.value().response.prev_kv.has_value());
  CHECK(r.value().response.prev_kv->value == "old");
}

TEST_CASE("an error response becomes the call's error") {
  FakeServer server([](FakeConnection& conn) {
    auto req = conn.read_request();
    conn.send(
        test::error_frame(req.msgid, 11, "etcdserver: mvcc: required revision has been compacted"));
    req = conn.read_request();
    conn.send(test::result_frame(req.msgid, protocol::encode_to_string(protocol::StatusResponse{
                                                header(3), "0.1.0", 10, 5, 9, 1, 1, {}, 2, 0})));
  });
  auto c = connect_to(server);
  storage::RangeRequest get;
  get.key = "a";
  get.revision = 1;
  auto r = c.range(get);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == 11);
  CHECK(r.error().message == "etcdserver: mvcc: required revision has been compacted");
  // An error response does not break the connection.
  auto s = c.status();
  REQUIRE(s.ok());
  CHECK(s.value().version == "0.1.0");
  CHECK(s.value().shards == 2);
}

TEST_CASE("pipelined requests are matched by msgid whatever the response order") {
  FakeServer server([](FakeConnection& conn) {
    std::vector<protocol::RequestFrame> reqs;
    for (int i = 0; i < 3; ++i)
      reqs.push_back(conn.read_request());
    for (int i = 2; i >= 0; --i) {
      storage::RangeResponse resp;
      resp.revision = 10 + i;
      conn.send(test::result_frame(reqs[i].msgid, protocol::encode_kv_to_string(header(0), resp)));
    }
  });
  auto c = connect_to(server);
  std::vector<uint32_t> ids;
  for (int i = 0; i < 3; ++i)
    ids.push_back(c.queue("KV.Range", protocol::encode_to_string(storage::RangeRequest{})));
  REQUIRE(c.flush().ok());
  // wait() for the first request: the two earlier-arriving responses are kept.
  auto first = c.wait(ids[0]);
  REQUIRE(first.ok());
  CHECK(first.value().msgid == ids[0]);
  auto a = c.next_response();
  auto b = c.next_response();
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CHECK(a.value().msgid == ids[2]);  // arrival order
  CHECK(b.value().msgid == ids[1]);
  auto decoded = protocol::decode_kv_response<storage::RangeResponse>(b.value().result);
  REQUIRE(decoded.ok());
  CHECK(decoded.value().header.revision == 11);
}

TEST_CASE("responses taken by wait() are not held for next_response()") {
  constexpr int kRequests = 200;
  FakeServer server([](FakeConnection& conn) {
    for (int i = 0; i < kRequests; ++i) {
      auto req = conn.read_request();
      storage::RangeResponse resp;
      resp.revision = i + 1;
      conn.send(test::result_frame(req.msgid, protocol::encode_kv_to_string(header(0), resp)));
    }
  });
  auto c = connect_to(server);
  for (int i = 0; i < kRequests; ++i) {
    auto id = c.queue("KV.Range", protocol::encode_to_string(storage::RangeRequest{}));
    REQUIRE(c.flush().ok());
    auto r = c.wait(id);
    REQUIRE(r.ok());
    CHECK(c.held_responses() == 0);
  }
}

TEST_CASE("notifications reach the handler, frames split into single bytes are reassembled") {
  FakeServer server([](FakeConnection& conn) {
    auto req = conn.read_request();
    REQUIRE(req.method == "Watch.Watch");
    protocol::WatchResponse created;
    created.header = header(4);
    created.created = true;
    created.watch_id = 1;
    conn.send_bytewise(test::result_frame(req.msgid, protocol::encode_to_string(created)));
    protocol::WatchResponse events;
    events.header = header(5);
    events.watch_id = 1;
    events.events.push_back(storage::Event{storage::Event::Type::put,
                                           storage::KeyValue{"k", 5, 5, 1, "v", 0}, std::nullopt});
    conn.send_bytewise(test::notification_frame("Watch.Watch", protocol::encode_to_string(events)));
    conn.close();
  });
  auto c = connect_to(server);
  std::vector<protocol::WatchResponse> seen;
  c.set_notification_handler([&](const client::Notification& n) {
    REQUIRE(n.method == "Watch.Watch");
    auto w = client::decode_watch_notification(n);
    REQUIRE(w.ok());
    seen.push_back(w.value());
  });
  protocol::WatchRequest req{protocol::WatchCreateRequest{}};
  std::get<protocol::WatchCreateRequest>(req.request).key = "k";
  auto created = c.watch(req);
  REQUIRE(created.ok());
  CHECK(created.value().created);
  for (;;) {
    auto p = c.pump();
    if (!p) {
      CHECK(p.error().code == client::kCodeUnavailable);
      break;
    }
  }
  REQUIRE(seen.size() == 1);
  REQUIRE(seen[0].events.size() == 1);
  CHECK(seen[0].events[0].kv.value == "v");
}

TEST_CASE("snapshot streams its chunks and returns size and digest") {
  FakeServer server([](FakeConnection& conn) {
    auto req = conn.read_request();
    REQUIRE(req.method == "Maintenance.Snapshot");
    conn.send(test::notification_frame(
        "Maintenance.Snapshot",
        protocol::encode_to_string(protocol::SnapshotChunk{req.msgid, "ab", 1})));
    conn.send(test::notification_frame(
        "Maintenance.Snapshot",
        protocol::encode_to_string(protocol::SnapshotChunk{req.msgid, "c", 0})));
    conn.send(test::result_frame(req.msgid, protocol::encode_to_string(protocol::SnapshotResponse{
                                                header(3), 3, std::string(32, 'x')})));
  });
  auto c = connect_to(server);
  std::string data;
  auto r = c.snapshot([&](const protocol::SnapshotChunk& chunk) {
    data += chunk.blob;
    return true;
  });
  REQUIRE(r.ok());
  CHECK(data == "abc");
  CHECK(r.value().size == 3);
}

TEST_CASE("transport failures are errors with gRPC codes") {
  SECTION("closed connection") {
    FakeServer server([](FakeConnection& conn) {
      conn.read_request();
      conn.close();
    });
    auto c = connect_to(server);
    auto r = c.status();
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == client::kCodeUnavailable);
    // The client stays broken.
    CHECK(c.status().error().code == client::kCodeUnavailable);
  }
  SECTION("deadline") {
    FakeServer server([](FakeConnection& conn) {
      conn.read_request();
      // Never answer: wait for the next request, i.e. until the client hangs up.
      conn.read_request();
    });
    client::ClientOptions options;
    options.request_timeout = std::chrono::milliseconds(50);
    auto c = connect_to(server, options);
    auto r = c.status();
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == client::kCodeDeadlineExceeded);
    CHECK(r.error().message == "context deadline exceeded");
  }
  SECTION("garbage from the node") {
    FakeServer server([](FakeConnection& conn) {
      conn.read_request();
      conn.send(std::string_view("\x01\x02", 2));
    });
    auto c = connect_to(server);
    auto r = c.status();
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == client::kCodeInternal);
  }
  SECTION("malformed-frame error with msgid 0") {
    FakeServer server([](FakeConnection& conn) {
      conn.read_request();
      conn.send(test::error_frame(0, 3, "revkv: bad request: malformed frame"));
    });
    auto c = connect_to(server);
    auto r = c.status();
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message == "revkv: bad request: malformed frame");
  }
  SECTION("nobody listening") {
    uint16_t port = 0;
    {
      FakeServer closed([](FakeConnection&) {});
      port = closed.port();
    }
    auto c = Client::connect("127.0.0.1:" + std::to_string(port));
    REQUIRE_FALSE(c.ok());
    CHECK(c.error().code == client::kCodeUnavailable);
    CHECK(c.error().message.find("connection refused") != std::string::npos);
  }
}

TEST_CASE(
    "flush reads while it writes: a node that stops reading until its answers are "
    "taken does not deadlock a pipelining client") {
  // 64 requests and 64 answers of 256 KiB each: far more than both sockets' buffers hold.
  constexpr int kRequests = 64;
  const std::string payload(256 * 1024, 'x');
  msgpack::sbuffer packed;
  msgpack::pack(packed, payload);
  const std::string answer(packed.data(), packed.size());  // a msgpack str
  FakeServer server([&](FakeConnection& conn) {
    for (int i = 0; i < kRequests; ++i) {
      auto req = conn.read_request();
      // As the node's backpressure does: no more reading until this answer is sent. A
      // client that does not read meanwhile makes it give up (and close) after 20 s.
      conn.send_within(test::result_frame(req.msgid, answer), std::chrono::seconds(20));
    }
  });
  auto c = connect_to(server);
  std::vector<uint32_t> ids;
  for (int i = 0; i < kRequests; ++i) {
    storage::PutRequest put;
    put.key = "k" + std::to_string(i);
    put.value = payload;
    ids.push_back(c.queue("KV.Put", protocol::encode_to_string(put)));
  }
  auto flushed = c.flush();
  INFO((flushed.ok() ? std::string("flushed") : flushed.error().message));
  REQUIRE(flushed.ok());
  // Every answer arrives, those read during the flush included, in order.
  for (int i = 0; i < kRequests; ++i) {
    auto r = c.next_response();
    REQUIRE(r.ok());
    CHECK(r.value().msgid == ids[static_cast<size_t>(i)]);
    CHECK_FALSE(r.value().error);
  }
}
