// revkvctl end to end against the fake node of tests/client: arguments in, text out.

#include "apps/revkvctl/run.hpp"

#include "protocol/codec.hpp"
#include "tests/client/fake_server.hpp"
#include "tests/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>
#include <stop_token>
#include <thread>

using namespace revkv;
using test::FakeConnection;
using test::FakeServer;

namespace {

struct Outcome {
  int code;
  std::string out;
  std::string err;
};

Outcome run(std::vector<std::string> args, const std::string& input = "") {
  args.insert(args.begin(), "revkvctl");
  std::istringstream in(input);
  std::ostringstream out, err;
  int code = ctl::main_with_args(args, in, out, err);
  return {code, out.str(), err.str()};
}

const protocol::ResponseHeader kHeader{1, 2, 9, 1};

}  // namespace

TEST_CASE("put with the value from stdin prints OK") {
  storage::PutRequest seen;
  FakeServer server([&](FakeConnection& conn) {
    auto req = conn.read_request();
    seen = protocol::decode_body<storage::PutRequest>(req.body).value();
    conn.send(test::result_frame(
        req.msgid, protocol::encode_kv_to_string(kHeader, storage::PutResponse{9, std::nullopt})));
  });
  auto r = run({"--endpoint", server.endpoint(), "put", "k"}, "from stdin\n");
  CHECK(r.code == 0);
  CHECK(r.out == "OK\n");
  CHECK(seen.value == "from stdin\n");
}

TEST_CASE("a server error is printed as Error: <message>, exit 1") {
  FakeServer server([](FakeConnection& conn) {
    auto req = conn.read_request();
    conn.send(test::error_frame(req.msgid, 3, "etcdserver: key is not provided"));
  });
  auto r = run({"--endpoint", server.endpoint(), "get", ""});
  CHECK(r.code == 1);
  CHECK(r.out.empty());
  CHECK(r.err == "Error: etcdserver: key is not provided\n");
}

TEST_CASE("txn reads stdin and prints the etcdctl txn result") {
  storage::TxnRequest seen;
  FakeServer server([&](FakeConnection& conn) {
    auto req = conn.read_request();
    REQUIRE(req.method == "KV.Txn");
    seen = protocol::decode_body<storage::TxnRequest>(req.body).value();
    storage::TxnResponse t;
    t.revision = 9;
    t.succeeded = true;
    t.responses.push_back(storage::ResponseOp{storage::PutResponse{9, std::nullopt}});
    conn.send(test::result_frame(req.msgid, protocol::encode_kv_to_string(kHeader, t)));
  });
  auto r = run({"--endpoint", server.endpoint(), "txn"},
               "value(\"a\") = \"1\"\n\nput a 2\n\nput a 3\n\n");
  CHECK(r.code == 0);
  CHECK(r.out == "SUCCESS\n\nOK\n");
  CHECK(seen.compare.size() == 1);
  CHECK(seen.success.size() == 1);
  CHECK(seen.failure.size() == 1);
}

TEST_CASE("watch prints events and keeps reconnecting after the connection ends") {
  std::promise<void> sent;
  FakeServer server([&](FakeConnection& conn) {
    auto req = conn.read_request();
    protocol::WatchResponse created;
    created.header = kHeader;
    created.created = true;
    created.watch_id = 0;
    conn.send(test::result_frame(req.msgid, protocol::encode_to_string(created)));
    protocol::WatchResponse ev;
    ev.header = kHeader;
    ev.events.push_back({storage::Event::Type::put, {"k", 9, 9, 1, "v", 0}, std::nullopt});
    conn.send(test::notification_frame("Watch.Watch", protocol::encode_to_string(ev)));
    conn.close();
    sent.set_value();
  });
  // The fake node answers one connection only: revkvctl's reconnects find no answer (the
  // create times out) and retry until the stop.
  std::istringstream in;
  std::ostringstream out, err;
  std::stop_source stop;
  int code = 0;
  std::thread watcher([&] {
    code = ctl::main_with_args(
        {"revkvctl", "--endpoint", server.endpoint(), "--command-timeout", "100ms", "watch", "k"},
        in, out, err, stop.get_token());
  });
  sent.get_future().wait();
  stop.request_stop();
  watcher.join();
  CHECK(out.str() == "PUT\nk\nv\n");
  CHECK(code == ctl::kExitInterrupted);
  CHECK(err.str().empty());
}

TEST_CASE("snapshot save checks the digest") {
  testing::TempDir tmp;
  auto serve = [](std::string digest) {
    return [digest](FakeConnection& conn) {
      auto req = conn.read_request();
      conn.send(test::notification_frame(
          "Maintenance.Snapshot",
          protocol::encode_to_string(protocol::SnapshotChunk{req.msgid, "abc", 0})));
      conn.send(test::result_frame(
          req.msgid, protocol::encode_to_string(protocol::SnapshotResponse{kHeader, 3, digest})));
    };
  };
  // sha256("abc")
  const std::string good(
      "\xba\x78\x16\xbf\x8f\x01\xcf\xea\x41\x41\x40\xde\x5d\xae\x22\x23\xb0\x03\x61\xa3\x96\x17"
      "\x7a\x9c\xb4\x10\xff\x61\xf2\x00\x15\xad",
      32);  // holds a NUL byte
  {
    FakeServer server(serve(good));
    auto r = run({"--endpoint", server.endpoint(), "snapshot", "save", tmp.sub("s.db")});
    CHECK(r.code == 0);
    CHECK(r.out == "Snapshot saved at " + tmp.sub("s.db") + "\n");
    std::ifstream in(tmp.sub("s.db"));
    std::string data((std::istreambuf_iterator<char>(in)), {});
    CHECK(data == "abc");
    // Owner-only, as etcdctl saves snapshots.
    CHECK(std::filesystem::status(tmp.sub("s.db")).permissions() ==
          (std::filesystem::perms::owner_read | std::filesystem::perms::owner_write));
  }
  {
    FakeServer server(serve(std::string(32, 'x')));
    auto r = run({"--endpoint", server.endpoint(), "snapshot", "save", tmp.sub("bad.db")});
    CHECK(r.code == 1);
    CHECK(r.err.find("sha256 mismatch") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(tmp.sub("bad.db")));
    CHECK_FALSE(std::filesystem::exists(tmp.sub("bad.db.part")));
  }
}

TEST_CASE("no node: exit 1 with the dial error") {
  uint16_t port = 0;
  {
    FakeServer closed([](FakeConnection&) {});
    port = closed.port();
  }
  auto r = run({"--endpoint", "127.0.0.1:" + std::to_string(port), "status"});
  CHECK(r.code == 1);
  CHECK(r.err.find("connection refused") != std::string::npos);
}

TEST_CASE("an endpoints list: a refused endpoint fails over to the next") {
  uint16_t closed_port = 0;
  {
    FakeServer closed([](FakeConnection&) {});
    closed_port = closed.port();
  }
  FakeServer server([&](FakeConnection& conn) {
    auto req = conn.read_request();
    conn.send(test::result_frame(
        req.msgid, protocol::encode_kv_to_string(kHeader, storage::PutResponse{9, std::nullopt})));
  });
  auto r = run({"--endpoints", "127.0.0.1:" + std::to_string(closed_port) + "," + server.endpoint(),
                "put", "k", "v"});
  CHECK(r.code == 0);
  CHECK(r.out == "OK\n");
}

TEST_CASE("a format the command has no printer for: exit 4 before anything is sent") {
  // No node: the refusal must come before the connection attempt.
  auto r = run({"--endpoints", "127.0.0.1:1", "-w", "table", "put", "k", "v"});
  CHECK(r.code == ctl::kExitBadFeature);
  CHECK(r.err == "Error: table not supported as output format\n");
  CHECK(run({"--endpoints", "127.0.0.1:1", "version", "-w", "table"}).code == 0);
}
