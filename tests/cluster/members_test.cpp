// The --initial-cluster parser, the entry frame and the Raft snapshot header: no network,
// no libuv loop.

#include "cluster/members.hpp"

#include "cluster/entry_frame.hpp"
#include "cluster/snapshot_header.hpp"

#include <catch2/catch.hpp>

#include <set>
#include <stdexcept>

using namespace revkv::cluster;

TEST_CASE("initial cluster lists parse into names, ids and addresses", "[cluster]") {
  auto members =
      parse_initial_cluster("a=127.0.0.1:2380, b=http://127.0.0.1:2381,c=https://10.0.0.3:2380/");
  REQUIRE(members.size() == 3);
  CHECK(members[0].name == "a");
  CHECK(members[0].address == "127.0.0.1:2380");
  CHECK(members[1].address == "127.0.0.1:2381");
  CHECK(members[2].address == "10.0.0.3:2380");
  std::set<std::uint64_t> ids;
  for (const auto& m : members) {
    CHECK(m.id != 0);
    CHECK(m.id == member_id(m.name));
    ids.insert(m.id);
  }
  CHECK(ids.size() == 3);
  // The same name gives the same id on every member and in every run.
  CHECK(member_id("a") == parse_initial_cluster("x=127.0.0.1:1,a=127.0.0.1:2")[1].id);
}

TEST_CASE("bad initial cluster lists are refused with the reason", "[cluster]") {
  CHECK_THROWS_WITH(parse_initial_cluster(""), Catch::Contains("empty"));
  CHECK_THROWS_WITH(parse_initial_cluster("a127.0.0.1:2380"), Catch::Contains("NAME=HOST:PORT"));
  CHECK_THROWS_WITH(parse_initial_cluster("a=127.0.0.1"), Catch::Contains("HOST:PORT"));
  CHECK_THROWS_WITH(parse_initial_cluster("a=127.0.0.1:0"), Catch::Contains("HOST:PORT"));
  CHECK_THROWS_WITH(parse_initial_cluster("a=127.0.0.1:99999"), Catch::Contains("HOST:PORT"));
  CHECK_THROWS_WITH(parse_initial_cluster("a=127.0.0.1:1,a=127.0.0.1:2"), Catch::Contains("twice"));
  CHECK_THROWS_WITH(parse_initial_cluster("a=127.0.0.1:1,b=127.0.0.1:1"), Catch::Contains("twice"));
}

TEST_CASE("initial cluster hosts must be IPv4 literals", "[cluster]") {
  // libraft's transport would never reach these peers: refused up front, naming member and host.
  auto refused = [](const char* text, const char* member, const char* host) {
    INFO(text);
    CHECK_THROWS_WITH(parse_initial_cluster(text),
                      Catch::Contains("member '" + std::string(member) + "'") &&
                          Catch::Contains("host '" + std::string(host) + "'") &&
                          Catch::Contains("not an IPv4 address"));
  };
  refused("a=127.0.0.1:1,b=localhost:2380", "b", "localhost");
  refused("a=http://node-a.example:2380", "a", "node-a.example");
  refused("a=[::1]:2380", "a", "[::1]");
  refused("a=::1:2380", "a", "::1");
  refused("a=127.0.0.256:2380", "a", "127.0.0.256");
  refused("a=10.0.0:2380", "a", "10.0.0");
  CHECK(parse_initial_cluster("a=0.0.0.0:1,b=192.168.10.20:65535").size() == 2);
}

TEST_CASE("member URLs are checked as etcd's types.NewURLs checks them", "[cluster]") {
  using V = std::vector<std::string>;
  for (const auto& good :
       {V{"http://127.0.0.1:2380"}, V{" HTTPS://10.0.0.1:2380 "}, V{"unix://sock:1"},
        V{"http://[::1]:2380"}, V{"http://h:"}, V{"http://u@h:1"}, V{"http://a:1", "http://b:2"}}) {
    INFO(good[0]);
    CHECK(etcd_member_urls_valid(good));
  }
  for (const auto& bad : {V{}, V{"foo"}, V{"127.0.0.1:5555"}, V{"http://127.0.0.1"}, V{"ftp://h:1"},
                          V{"http://h:1/path"}, V{"http://h:1/"}, V{"http://::1:2380"},
                          V{"http://a:1", "b"}, V{"http://h:abc"}, V{"http://a b:1"}}) {
    INFO((bad.empty() ? std::string("(none)") : bad[0]));
    CHECK_FALSE(etcd_member_urls_valid(bad));
  }
}

TEST_CASE("snapshot headers round-trip and foreign buffers are refused", "[cluster]") {
  SnapshotHeader h{0x0102030405060708ull, "checkpoint 17 at 127.0.0.1:2380"};
  auto bytes = encode_snapshot(h);
  auto back = decode_snapshot(bytes);
  REQUIRE(back);
  CHECK(back->applied_index == h.applied_index);
  CHECK(back->descriptor == h.descriptor);

  auto empty = decode_snapshot(encode_snapshot(SnapshotHeader{7, ""}));
  REQUIRE(empty);
  CHECK(empty->applied_index == 7);
  CHECK(empty->descriptor.empty());

  CHECK_FALSE(decode_snapshot(""));
  CHECK_FALSE(decode_snapshot(bytes.substr(0, 10)));
  auto wrong_tag = bytes;
  wrong_tag[0] = 'X';
  CHECK_FALSE(decode_snapshot(wrong_tag));
}

TEST_CASE("entry frames are 8-byte multiples that give back the payload", "[cluster]") {
  for (std::size_t n : {0u, 1u, 7u, 8u, 9u, 15u, 16u, 17u, 1000u}) {
    INFO("payload size " << n);
    std::string payload(n, 'p');
    for (std::size_t i = 0; i < n; ++i)
      payload[i] = static_cast<char>(i * 31 + 7);
    std::string frame(framed_size(n), '?');
    write_frame(payload, frame.data());
    CHECK(frame.size() % 8 == 0);
    CHECK(frame.size() >= n + 8);
    CHECK(frame.size() < n + 16);
    auto back = read_frame(frame);
    REQUIRE(back);
    CHECK(*back == payload);
  }
}

TEST_CASE("damaged entry frames are refused", "[cluster]") {
  std::string frame(framed_size(5), '?');
  write_frame("hello", frame.data());
  CHECK_FALSE(read_frame(""));
  CHECK_FALSE(read_frame(frame.substr(0, 7)));
  CHECK_FALSE(read_frame(frame.substr(0, frame.size() - 8)));
  auto longer = frame;
  longer[0] = 9;  // claims 9 bytes: needs two blocks of padding room
  CHECK_FALSE(read_frame(longer));
  auto shorter = frame;
  shorter[0] = 1;  // claims 1 byte: the rest of the payload reads as non-zero padding
  CHECK_FALSE(read_frame(shorter));
  auto dirty = frame;
  dirty.back() = 'x';
  CHECK_FALSE(read_frame(dirty));
  auto shifted = std::string(3, 'x') + frame.substr(3);  // the bytes of a neighbour
  CHECK_FALSE(read_frame(shifted));
}
